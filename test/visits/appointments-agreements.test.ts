import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { Db } from '../../src/store/db.ts';
import { openFollowUps } from '../../src/store/follow-ups.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { recordBrokenAgreement } from '../../src/visits/agreements.ts';
import { setAppointment } from '../../src/visits/appointment.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { cancelVisit, recordNoAnswer } from '../../src/visits/outcome.ts';
import { assessRisk, authoriseVisit, requestVisit, signDayList } from '../../src/visits/request.ts';
import { arriveVisit, returnVisit } from '../../src/visits/while-out.ts';
import { agreementsConfig, madeWithAgreements } from '../helpers/agreements.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Thames View 2.7 (appointment records on CPOMS), 4.2/4.3 (broken agreements: reminder letter,
 * attendance note, follow-up visit) and Hampton's copy of the visit record to the office and HoS,
 * through the real register and PostgreSQL: what lands in the outbox (once per sink), the follow-ups,
 * the register and the notices.
 */
const schema = uniqueName('agreements');
let db: Db;
let deps: VisitDeps;
let staff: User;
let partner: User;
let head: User;
let sbm: User;
let office: User;
let lime: User;
let now = new Date('2026-11-23T09:00:00Z');

beforeAll(async () => {
  const config = agreementsConfig();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now };
  await addPupils(db, ['thames', 'hampton', 'lime']);
  staff = await addUser(db, 'staff', ['visiting-staff'], {
    phone: '+447700900111',
    displayName: 'Sam Staff',
  });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  head = await addUser(db, 'head', ['office'], { positions: ['headteacher'] });
  sbm = await addUser(db, 'sbm', ['office'], { positions: ['business-manager'] });
  office = await addUser(db, 'office', ['office'], { schools: ['thames', 'hampton'] });
  lime = await addUser(db, 'limesg', ['safeguarding'], { schools: ['lime'] });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const records = async (visitId: string, kind: string) =>
  (
    await db.query<{ sink: string; idempotency_key: string; title: string; body: string }>(
      `SELECT sink, idempotency_key, title, body FROM outbox WHERE source_id = $1 AND kind = $2 ORDER BY id`,
      [visitId, kind],
    )
  ).rows;
const noticesOf = async (visitId: string, kind: string) =>
  (
    await db.query<{ target: string; text: string; notice_key: string }>(
      'SELECT target, text, notice_key FROM notices WHERE visit_id = $1 AND kind = $2 ORDER BY id',
      [visitId, kind],
    )
  ).rows;
const auditOf = async (visitId: string, action: string) =>
  (
    await db.query<{ after: Record<string, unknown> }>(
      `SELECT after FROM audit_log WHERE entity_type = 'visit' AND entity_id = $1 AND action = $2 ORDER BY id`,
      [visitId, action],
    )
  ).rows.map((r) => r.after);

describe('Thames View 2.7: appointment records on CPOMS', () => {
  it('are written once per sink when the list is signed, again (numbered) on a change, and on cancellation', async () => {
    const id = await requestVisit(deps, staff, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'attendance below 90%',
      plannedFor: '2026-11-24',
      appointmentTime: '14:30',
    });
    expect((await getVisit(db, id))!.appointmentAt).toEqual(new Date('2026-11-24T14:30:00Z'));
    expect(await records(id, 'visit_appointment')).toEqual([]); // asked for, not yet booked
    expect((await signDayList(deps, head, 'thames', '2026-11-24', [id])).authorised).toEqual([id]);
    const booked = await records(id, 'visit_appointment');
    expect(booked.map((r) => [r.sink, r.idempotency_key])).toEqual([
      ['cpoms', `visit-appointment:thames:${id}:1`],
      ['arbor-pastoral', `visit-appointment:thames:${id}:1:arbor-pastoral`],
    ]);
    expect(booked[0]!.body).toContain('Amelia Okonkwo (P1, UPN A123456789012)');
    expect(booked[0]!.body).toContain('Time: Tue 24 Nov 2026, 14:30');
    expect(booked[0]!.body).toContain('Location: 14 Rosebank Terrace, Leeds, LS6 2QT');
    // Nothing changed: nothing new written, nobody told.
    await setAppointment(deps, staff, id, { time: '14:30' });
    expect(await records(id, 'visit_appointment')).toHaveLength(2);
    expect(await noticesOf(id, 'changed')).toEqual([]);
    // 3.6: a change is a new record and the headteacher hears of it.
    await setAppointment(deps, staff, id, { time: '15:15' });
    const changed = await records(id, 'visit_appointment');
    expect(changed.map((r) => r.idempotency_key)).toEqual([
      `visit-appointment:thames:${id}:1`,
      `visit-appointment:thames:${id}:1:arbor-pastoral`,
      `visit-appointment:thames:${id}:2`,
      `visit-appointment:thames:${id}:2:arbor-pastoral`,
    ]);
    expect(changed[2]!.title).toMatch(/CHANGED/);
    expect(changed[2]!.body).toContain('Time: Tue 24 Nov 2026, 15:15');
    expect(changed[2]!.body).toContain('Previously: Tue 24 Nov 2026, 14:30');
    const told = await noticesOf(id, 'changed');
    expect(told.map((n) => n.target)).toEqual(['teams']);
    expect(told[0]!.text).toMatch(
      /appointment was changed .* to Tue 24 Nov 2026, 15:15 \(was Tue 24 Nov 2026, 14:30\)/,
    );
    expect(told[0]!.text).not.toContain('Amelia');
    expect(await auditOf(id, 'visit.appointment-set')).toHaveLength(1);
    // Cancelled: the CPOMS appointment is marked cancelled too.
    await cancelVisit(deps, office, id, 'dangerous dog not shut away');
    const all = await records(id, 'visit_appointment');
    expect(all).toHaveLength(6);
    expect(all[4]!.title).toMatch(/CANCELLED/);
    expect(all[4]!.body).toContain('Cancelled: dangerous dog not shut away');
    expect((await getVisit(db, id))!.appointmentRecords).toBe(3);
  });

  it('a new address after authorisation or a risk assessment sends the visit back: no departure until authorised and assessed again', async () => {
    const start = now;
    try {
      now = new Date('2026-11-23T10:00:00Z');
      const back = () => new Date(now.getTime() + 3_600_000);
      const elsewhere = { line1: '9 Elsewhere Road', town: 'Leeds', postcode: 'LS9 8AA' };
      // Lime Hills: authorised at low risk (alone is fine), then the requester moves it to another address.
      const id = await requestVisit(deps, staff, {
        schoolId: 'lime',
        pupilMisId: 'P1',
        reason: 'absent 5 days',
      });
      await authoriseVisit(deps, lime, id, 'known family', true, {
        level: 'low',
        reason: 'nothing on CPOMS',
      });
      // A new time alone changes nothing about the authorisation.
      await setAppointment(deps, staff, id, { time: '14:00' });
      expect((await getVisit(db, id))!.status).toBe('authorised');
      await setAppointment(deps, staff, id, { time: '14:00', address: elsewhere });
      const v = (await getVisit(db, id))!;
      expect(v).toMatchObject({
        status: 'requested',
        authorisedBy: null,
        authorisedAt: null,
        riskAssessedAt: null,
        riskAssessedBy: null,
        outOfHoursApproved: false,
        riskLevel: 'low',
      });
      expect(v.address.line1).toBe('9 Elsewhere Road');
      expect(await auditOf(id, 'visit.sent-back-for-authorisation')).toEqual([
        expect.objectContaining({ status: 'requested', authorisedBy: null, riskAssessed: false }),
      ]);
      const refused = departTold(deps, staff, id, {
        expectedReturnAt: back(),
        safeWord: 'oak',
        risksRead: true,
      });
      await expect(refused).rejects.toThrow(/must be authorised first/);
      await authoriseVisit(deps, lime, id, 'new address checked', false, { level: 'low', reason: 'checked' });
      await departTold(deps, staff, id, { expectedReturnAt: back(), safeWord: 'oak', risksRead: true });
      await returnVisit(deps, staff, id);

      // Thames View: the list signed and the risk assessed (2.5); a new address needs both again.
      const t = await requestVisit(deps, staff, {
        schoolId: 'thames',
        pupilMisId: 'P1',
        reason: 'attendance',
        plannedFor: '2026-11-23',
        appointmentTime: '15:00',
      });
      await assessRisk(deps, sbm, t, { level: 'low', reason: 'known family' });
      await signDayList(deps, head, 'thames', '2026-11-23', [t]);
      await setAppointment(deps, office, t, { time: '15:00', address: elsewhere });
      expect(await getVisit(db, t)).toMatchObject({ status: 'requested', riskAssessedAt: null });
      // Its appointment record says the address changed (2.7).
      expect((await records(t, 'visit_appointment')).map((r) => r.idempotency_key)).toContain(
        `visit-appointment:thames:${t}:2`,
      );
      const go = { expectedReturnAt: back(), risksRead: true, partnerUserId: partner.id, onFoot: true };
      await expect(departTold(deps, staff, t, go)).rejects.toThrow(/must be authorised first/);
      await signDayList(deps, head, 'thames', '2026-11-23', [t]);
      await expect(departTold(deps, staff, t, go)).rejects.toThrow(/risk must be assessed first/);
      await assessRisk(deps, sbm, t, { level: 'low', reason: 'new address checked' });
      await departTold(deps, staff, t, go);
      await returnVisit(deps, staff, t);
    } finally {
      now = start;
    }
  });

  it('a visit signed without a time is booked when its time is set; a time the clocks skip is refused', async () => {
    const id = await requestVisit(deps, staff, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'attendance',
      plannedFor: '2026-11-25',
    });
    await signDayList(deps, head, 'thames', '2026-11-25', [id]);
    expect(await records(id, 'visit_appointment')).toEqual([]);
    await setAppointment(deps, staff, id, { time: '09:45' });
    expect((await records(id, 'visit_appointment')).map((r) => r.idempotency_key)).toEqual([
      `visit-appointment:thames:${id}:1`,
      `visit-appointment:thames:${id}:1:arbor-pastoral`,
    ]);
    // The first time set is a booking, not a change: the headteacher is not told of it.
    expect(await noticesOf(id, 'changed')).toEqual([]);
    const spring = await requestVisit(deps, staff, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'attendance',
      plannedFor: '2027-03-28',
    });
    await expect(setAppointment(deps, staff, spring, { time: '01:30' })).rejects.toMatchObject({
      code: 'DOORSTEP_BAD_REQUEST',
      message: expect.stringMatching(/^time: 01:30 does not happen on 2027-03-28/),
    });
    await expect(
      requestVisit(deps, staff, {
        schoolId: 'thames',
        pupilMisId: 'P1',
        reason: 'x',
        plannedFor: '2027-03-28',
        appointmentTime: '01:15',
      }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/^appointmentTime: /) });
    // Only whoever asked for it, its lead, the office or safeguarding set it.
    await expect(setAppointment(deps, partner, id, { time: '10:00' })).rejects.toMatchObject({
      code: 'DOORSTEP_FORBIDDEN',
    });
  });

  it('3.4 "If the parent/carer does not arrive the visit will be cancelled": no answer writes the cancellation record and tells the headteacher', async () => {
    now = new Date('2026-11-23T13:50:00Z');
    try {
      const id = await requestVisit(deps, staff, {
        schoolId: 'thames',
        pupilMisId: 'P1',
        reason: 'attendance below 90%',
        appointmentTime: '14:00',
      });
      await assessRisk(deps, sbm, id, { level: 'low', reason: 'known family' });
      await signDayList(deps, head, 'thames', '2026-11-23', [id]);
      await departTold(deps, staff, id, {
        onFoot: true,
        expectedReturnAt: new Date(now.getTime() + 3_600_000),
        risksRead: true,
        partnerUserId: partner.id,
      });
      // Ten minutes late at the door: the 20 minutes count from the arranged time, as the lifecycle
      // counts them — and the record says so (not "waited 10 minutes").
      now = new Date('2026-11-23T14:10:00Z');
      await arriveVisit(deps, staff, id);
      now = new Date('2026-11-23T14:20:00Z');
      await recordNoAnswer(deps, staff, id);
      const appointment = await records(id, 'visit_appointment');
      expect(appointment.filter((r) => r.sink === 'cpoms').map((r) => r.idempotency_key)).toEqual([
        `visit-appointment:thames:${id}:1`,
        `visit-appointment:thames:${id}:2`,
      ]);
      expect(appointment.at(-1)!.title).toMatch(/CANCELLED/);
      expect(appointment.at(-1)!.body).toMatch(
        /No answer: the parent\/carer was not there; waited 20 minutes at the door from the arranged time, 14:00 \(policy/,
      );
      const told = await noticesOf(id, 'cancelled');
      expect(told.map((n) => n.target)).toEqual(['teams']);
      expect(told[0]!.text).toMatch(
        new RegExp(
          `^Home visit #${id} \\(pupil A\\.O\\.\\) planned for 2026-11-23 was cancelled by Sam Staff: No answer`,
        ),
      );
      // Still the outcome it is (child not seen), and the worker still watched until back safe.
      expect((await getVisit(db, id))!).toMatchObject({ status: 'departed', returnedAt: null });
      await returnVisit(deps, staff, id);
    } finally {
      now = new Date('2026-11-23T09:00:00Z');
    }
  });

  it('a pack that does not ask for them writes none', async () => {
    const id = await requestVisit(deps, lime, {
      schoolId: 'lime',
      pupilMisId: 'P1',
      reason: 'welfare',
      plannedFor: '2026-11-24',
      appointmentTime: '11:00',
    });
    const requester = await addUser(db, 'limesg2', ['safeguarding'], { schools: ['lime'] });
    await authoriseVisit(deps, requester, id, undefined, false, { level: 'low', reason: 'known family' });
    expect((await getVisit(db, id))!.status).toBe('authorised');
    expect(await records(id, 'visit_appointment')).toEqual([]);
  });
});

const completedWithAgreements = (date: string) =>
  madeWithAgreements(deps, { staff, partner, head, sbm }, date);

describe('Thames View 4.2/4.3: broken agreements', () => {
  it('a breach: reminder letter, attendance note to each sink; continued failure: one follow-up visit', async () => {
    now = new Date('2026-11-26T09:00:00Z');
    const id = await completedWithAgreements('2026-11-26');
    now = new Date('2026-11-30T10:00:00Z');
    const first = await recordBrokenAgreement(deps, office, id, {
      agreement: 0,
      on: '2026-11-30',
      note: 'Arrived 9:40, no reason given',
    });
    expect(first).toEqual({
      n: 1,
      duplicate: false,
      letterUrl: `/visits/${id}/reminder-letter?n=1`,
      outboxId: expect.any(String),
      followUpVisitId: null,
    });
    const notes = await records(id, 'agreement_broken');
    expect(notes.map((r) => [r.sink, r.idempotency_key])).toEqual([
      ['cpoms', `agreement-broken:thames:${id}:1`],
      ['arbor-pastoral', `agreement-broken:thames:${id}:1:arbor-pastoral`],
    ]);
    expect(notes[1]!.body).toContain('Agreement: Amelia in school by 8:45 every day');
    expect(notes[1]!.body).toContain('Next: a reminder letter to the parents/carers');
    const letters = (await openFollowUps(db, 'thames')).filter((f) => f.visitId === id);
    expect(letters.map((f) => [f.owner, f.action])).toEqual([
      ['the office', expect.stringMatching(/^Send the reminder letter .*reminder-letter\?n=1$/)],
    ]);
    // The same breach recorded twice is one breach.
    expect(
      await recordBrokenAgreement(deps, office, id, { agreement: 0, on: '2026-11-30', note: 'again' }),
    ).toMatchObject({ n: 1, duplicate: true, outboxId: null, followUpVisitId: null });
    expect(await records(id, 'agreement_broken')).toHaveLength(2);
    // Continued failure (the second breach): a follow-up visit, linked to this one.
    const second = await recordBrokenAgreement(deps, office, id, {
      agreement: 1,
      on: '2026-11-30',
      note: 'No call; absent all day',
    });
    expect(second.n).toBe(2);
    const follow = (await getVisit(db, second.followUpVisitId!))!;
    expect(follow).toMatchObject({
      status: 'requested',
      pupilMisId: 'P1',
      followsVisitId: id,
      plannedFor: '2026-11-30',
      reason: `Follow-up visit: agreements made on visit #${id} not kept (2 times)`,
    });
    expect((await records(id, 'agreement_broken'))[2]!.body).toContain(
      `a follow-up visit (visit ${second.followUpVisitId})`,
    );
    now = new Date('2026-12-01T10:00:00Z');
    const third = await recordBrokenAgreement(deps, office, id, {
      agreement: 0,
      on: '2026-12-01',
      note: 'late again',
    });
    expect(third).toMatchObject({ n: 3, followUpVisitId: second.followUpVisitId });
    const { rows } = await db.query('SELECT id FROM visits WHERE follows_visit_id = $1', [id]);
    expect(rows).toHaveLength(1);
    // The follow-up visit called off: it no longer stands for the original's, so the next breach
    // asks for another, linked the same way.
    await cancelVisit(deps, office, second.followUpVisitId!, 'family moved away for a week');
    const fourth = await recordBrokenAgreement(deps, office, id, {
      agreement: 1,
      on: '2026-12-01',
      note: 'absent again',
    });
    expect(fourth.followUpVisitId).not.toBe(second.followUpVisitId);
    expect((await getVisit(db, fourth.followUpVisitId!))!).toMatchObject({
      status: 'requested',
      followsVisitId: id,
    });
    const stored = (await getVisit(db, id))!.outcome as { broken: { n: number; agreement: number }[] };
    expect(stored.broken.map((b) => [b.n, b.agreement])).toEqual([
      [1, 0],
      [2, 1],
      [3, 0],
      [4, 1],
    ]);
    expect((await auditOf(id, 'visit.agreement-broken')).map((a) => a.n)).toEqual([1, 2, 3, 4]);
  });

  it('refuses an agreement the outcome does not hold, a date in the future or before the visit, and people who may not', async () => {
    now = new Date('2026-11-27T09:00:00Z');
    const id = await completedWithAgreements('2026-11-27');
    const bad = (o: { agreement: number; on: string }) =>
      recordBrokenAgreement(deps, office, id, { ...o, note: 'x' });
    await expect(bad({ agreement: 2, on: '2026-11-27' })).rejects.toMatchObject({
      code: 'DOORSTEP_BAD_REQUEST',
      message: expect.stringMatching(/^agreement: the visit's outcome has 2 agreement\(s\)/),
    });
    await expect(bad({ agreement: 0, on: '2026-11-28' })).rejects.toMatchObject({
      message: expect.stringMatching(/^on: expected a date not after today/),
    });
    await expect(bad({ agreement: 0, on: '2026-11-26' })).rejects.toMatchObject({
      message: expect.stringMatching(/^on: expected a date not before the visit/),
    });
    await expect(
      recordBrokenAgreement(deps, staff, id, { agreement: 0, on: '2026-11-27', note: 'x' }),
    ).rejects.toMatchObject({ code: 'DOORSTEP_FORBIDDEN' });
    // Once the visit has been made, its appointment is what it was.
    await expect(setAppointment(deps, office, id, { time: '16:00' })).rejects.toMatchObject({
      code: 'DOORSTEP_CONFLICT',
    });
    // Hampton's policy says nothing of broken agreements: the step is not offered there.
    const h = await requestVisit(deps, staff, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'induction' });
    await expect(
      recordBrokenAgreement(deps, office, h, { agreement: 0, on: '2026-11-27', note: 'x' }),
    ).rejects.toMatchObject({ code: 'DOORSTEP_CONFLICT' });
    expect(await records(id, 'agreement_broken')).toEqual([]);
  });
});

describe('Hampton: a copy of the visit record to the office and the HoS', () => {
  it('goes as the visit leaves and again on its confirmation of return, once each, audited', async () => {
    now = new Date('2026-11-23T13:00:00Z');
    const id = await requestVisit(deps, staff, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'induction',
    });
    await departTold(deps, staff, id, {
      expectedReturnAt: new Date('2026-11-23T14:30:00Z'),
      partnerUserId: partner.id,
      risksRead: true,
    });
    const copies = await noticesOf(id, 'visit-record');
    expect(copies.map((n) => [n.target, n.notice_key])).toEqual([
      ['teams', 'departed'],
      ['email:hos', 'departed'],
    ]);
    const text = copies[0]!.text;
    for (const line of [
      'Staff: Sam Staff and partner',
      'Date: 2026-11-23',
      'Address: 14 Rosebank Terrace, Leeds, LS6 2QT',
      'Contact number: +447700900111',
      'Left the office: Mon 23 Nov 2026, 13:00',
      'Expected back: Mon 23 Nov 2026, 14:30',
      'Named contact: the office (01632 960124)',
    ])
      expect(text).toContain(line);
    expect(text).toContain('(pupil A.O.)');
    expect(text).not.toContain('Amelia');
    now = new Date('2026-11-23T14:10:00Z');
    await returnVisit(deps, staff, id);
    const after = await noticesOf(id, 'visit-record');
    expect(after.map((n) => n.notice_key)).toEqual(['departed', 'departed', 'returned', 'returned']);
    expect(after[2]!.text).toMatch(/return confirmed — .* back safe at Mon 23 Nov 2026, 14:10/);
    expect((await auditOf(id, 'visit.record-copied')).map((a) => a.step)).toEqual(['departed', 'returned']);
  });

  it('a school whose config names no one sends no copy', async () => {
    now = new Date('2026-11-23T15:00:00Z');
    const id = await completedWithAgreements('2026-11-23');
    expect(await noticesOf(id, 'visit-record')).toEqual([]);
  });
});
