import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { allowedActions } from '../../src/domain/visits/lifecycle.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit, lifecycleOf } from '../../src/store/visits.ts';
import { actorOf } from '../../src/visits/access.ts';
import { setAppointment } from '../../src/visits/appointment.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { tellFamily } from '../../src/visits/family-notice.ts';
import { assessRisk, authoriseVisit, requestVisit, signDayList } from '../../src/visits/request.ts';
import { changeVisitDate } from '../../src/visits/reschedule.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { agreementsConfig } from '../helpers/agreements.ts';
import { refusal } from '../helpers/refusal.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * A visit leaves only on the day it is planned for; one whose day passed (or that the family asked to
 * rearrange) is moved to another day, and what was given for the old day is asked for again: the
 * authorisation (Thames View's list is signed for its day), the risk assessment, the family's notice.
 */
const schema = uniqueName('reschedule');
let db: Db;
let deps: VisitDeps;
let staff: User;
let partner: User;
let head: User;
let sbm: User;
let office: User;
let stranger: User;
let now = new Date('2026-11-23T09:00:00Z'); // Monday 09:00 in London

beforeAll(async () => {
  const config = agreementsConfig();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now };
  await addPupils(db, ['thames', 'lime']);
  staff = await addUser(db, 'staff', ['visiting-staff'], {
    displayName: 'Sam Staff',
    phone: '+447700900111',
  });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  head = await addUser(db, 'head', ['office'], { positions: ['headteacher'] });
  sbm = await addUser(db, 'sbm', ['office'], { positions: ['business-manager'] });
  office = await addUser(db, 'office', ['office'], { schools: ['thames'], displayName: 'Olive Office' });
  stranger = await addUser(db, 'stranger', ['visiting-staff'], { schools: ['thames'] });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const go = () => ({
  onFoot: true,
  expectedReturnAt: new Date(now.getTime() + 3_600_000),
  risksRead: true,
  partnerUserId: partner.id,
});

describe('moving a visit to another day', () => {
  it('withdraws what was given for the old day (signed list, assessment, family told), keeps the time, and writes the changed appointment', async () => {
    const id = await requestVisit(deps, staff, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'attendance below 90%',
      appointmentTime: '14:30',
    });
    await assessRisk(deps, sbm, id, { level: 'low', reason: 'known family' });
    await signDayList(deps, head, 'thames', '2026-11-23', [id]);
    await tellFamily(deps, staff, id, { method: 'written-confirmation' });
    // The family rang: not today, Wednesday.
    expect(await changeVisitDate(deps, staff, id, '2026-11-25')).toEqual({ moved: true });
    const v = (await getVisit(db, id))!;
    expect(v).toMatchObject({
      plannedFor: '2026-11-25',
      status: 'requested',
      riskAssessedAt: null,
      familyNotice: null,
      appointmentAt: new Date('2026-11-25T14:30:00Z'),
    });
    const { rows: outbox } = await db.query<{ idempotency_key: string; body: string }>(
      `SELECT idempotency_key, body FROM outbox WHERE source_id = $1 AND kind = 'visit_appointment' AND sink = 'cpoms' ORDER BY id`,
      [id],
    );
    expect(outbox.map((r) => r.idempotency_key)).toEqual([
      `visit-appointment:thames:${id}:1`,
      `visit-appointment:thames:${id}:2`,
    ]);
    expect(outbox[1]!.body).toContain('Time: Wed 25 Nov 2026, 14:30');
    expect(outbox[1]!.body).toContain('Previously: Mon 23 Nov 2026, 14:30');
    const { rows: told } = await db.query<{ kind: string; text: string }>(
      `SELECT kind, text FROM notices WHERE visit_id = $1 AND kind = 'changed'`,
      [id],
    );
    expect(told.map((n) => n.text)).toEqual([
      `Home visit #${id} (pupil A.O.) was moved from 2026-11-23 to 2026-11-25 by Sam Staff. The family was told of the old day: tell them again.`,
    ]);
    const { rows: audit } = await db.query<{ before: unknown; after: unknown }>(
      `SELECT before, after FROM audit_log WHERE action = 'visit.date-changed' AND entity_id = $1`,
      [id],
    );
    expect(audit).toEqual([
      {
        before: { plannedFor: '2026-11-23', status: 'authorised', familyTold: true },
        after: {
          plannedFor: '2026-11-25',
          status: 'requested',
          sentBack: true,
          outboxId: expect.any(String),
        },
      },
    ]);
    // What was withdrawn is in the audit, with what it was and why (as for a new address or time).
    const { rows: sentBack } = await db.query<{
      before: Record<string, unknown>;
      after: Record<string, unknown>;
    }>(
      `SELECT before, after FROM audit_log WHERE action = 'visit.sent-back-for-authorisation' AND entity_id = $1`,
      [id],
    );
    expect(sentBack).toHaveLength(1);
    expect(sentBack[0]!.before).toMatchObject({ status: 'authorised', riskAssessedBy: expect.any(String) });
    expect(sentBack[0]!.after).toMatchObject({
      status: 'requested',
      riskAssessed: false,
      why: 'moved from 2026-11-23 to 2026-11-25: authorise and assess the visit on its new day',
    });
    // Moving it to the day it has changes nothing.
    expect(await changeVisitDate(deps, staff, id, '2026-11-25')).toEqual({ moved: false });
    // On Wednesday, the list signed, assessed and told again: it leaves.
    now = new Date('2026-11-25T14:00:00Z');
    try {
      expect((await refusal(departTold(deps, staff, id, go()))).message).toMatch(/authorised first/);
      await assessRisk(deps, sbm, id, { level: 'low', reason: 'known family' });
      await signDayList(deps, head, 'thames', '2026-11-25', [id]);
      await departTold(deps, staff, id, go());
      expect((await getVisit(db, id))!.status).toBe('departed');
      expect((await refusal(changeVisitDate(deps, staff, id, '2026-11-26'))).code).toBe('DOORSTEP_CONFLICT');
      await returnVisit(deps, staff, id);
    } finally {
      now = new Date('2026-11-23T09:00:00Z');
    }
  });

  it('Thames View 2.6: the written confirmation is of the appointment — not before its time is recorded, and given again when the time changes', async () => {
    const id = await requestVisit(deps, staff, { schoolId: 'thames', pupilMisId: 'P1', reason: 'x' });
    expect(await refusal(tellFamily(deps, staff, id, { method: 'written-confirmation' }))).toEqual({
      code: 'DOORSTEP_POLICY',
      message: "method: the written confirmation is of the appointment: record the appointment's time first",
    });
    await setAppointment(deps, staff, id, { time: '15:00' });
    await tellFamily(deps, staff, id, { method: 'written-confirmation' });
    expect((await getVisit(db, id))!.familyNotice?.method).toBe('written-confirmation');
    // The same time again changes nothing; a new one withdraws the confirmation.
    await setAppointment(deps, staff, id, { time: '15:00' });
    expect((await getVisit(db, id))!.familyNotice?.method).toBe('written-confirmation');
    await setAppointment(deps, staff, id, { time: '16:00' });
    expect((await getVisit(db, id))!.familyNotice).toBeNull();
    const { rows } = await db.query<{ text: string }>(
      `SELECT text FROM notices WHERE visit_id = $1 AND kind = 'changed' ORDER BY id`,
      [id],
    );
    expect(rows.at(-1)!.text).toMatch(/written confirmation named the old one: confirm it to them again\.$/);
  });

  it('a text to the family for the old day not yet sent is never sent; an exemption (about the pupil, not the day) stays', async () => {
    const id = await requestVisit(deps, staff, { schoolId: 'thames', pupilMisId: 'P1', reason: 'x' });
    // A text announcing today, still waiting for a retry or the relay.
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO notices (school_id, kind, visit_id, target, subject, text, notice_key)
       VALUES ('thames', 'family', $1, 'sms:family', 'home visit', 'visit on Monday 23 November', 'k') RETURNING id`,
      [id],
    );
    await db.query(`UPDATE visits SET family_notice = $2 WHERE id = $1`, [
      id,
      JSON.stringify({
        method: null,
        exemption: 'persistent-absence',
        note: null,
        at: now.toISOString(),
        by: staff.id,
      }),
    ]);
    await changeVisitDate(deps, staff, id, '2026-11-24');
    const { rows: sent } = await db.query<{ status: string; last_error: string }>(
      'SELECT status, last_error FROM notices WHERE id = $1',
      [rows[0]!.id],
    );
    expect(sent).toEqual([{ status: 'failed', last_error: 'the visit moved from 2026-11-23 to 2026-11-24' }]);
    expect((await getVisit(db, id))!.familyNotice).toMatchObject({ exemption: 'persistent-absence' });
    const { rows: told } = await db.query<{ text: string }>(
      `SELECT text FROM notices WHERE visit_id = $1 AND kind = 'changed'`,
      [id],
    );
    expect(told.map((n) => n.text)).toEqual([
      `Home visit #${id} (pupil A.O.) was moved from 2026-11-23 to 2026-11-24 by Sam Staff.`,
    ]);
  });

  it('a visit whose day has passed is not authorised and cannot leave — it is moved to today, then goes', async () => {
    const id = await requestVisit(deps, staff, { schoolId: 'lime', pupilMisId: 'P1', reason: 'no contact' });
    const lime = await addUser(db, 'limesg', ['safeguarding'], { schools: ['lime'] });
    // Asked for yesterday, for yesterday; nobody went.
    await db.query(`UPDATE visits SET planned_for = '2026-11-22' WHERE id = $1`, [id]);
    const stale = await refusal(authoriseVisit(deps, lime, id, 'ok', false, { level: 'low', reason: 'x' }));
    expect(stale).toEqual({
      code: 'DOORSTEP_CONFLICT',
      message:
        'cannot authorise the visit: the day the visit was planned for has passed — move it to a new day first',
    });
    await db.query(`UPDATE visits SET status = 'authorised' WHERE id = $1`, [id]);
    const refused = await refusal(departTold(deps, staff, id, { ...go(), safeWord: 'oak' }));
    expect(refused.message).toMatch(
      /the visit was planned for 2026-11-22, not today \(2026-11-23\): move it to today/,
    );
    expect((await refusal(signDayList(deps, head, 'thames', '2026-11-22', [id]))).code).toBe(
      'DOORSTEP_POLICY',
    );
    await changeVisitDate(deps, staff, id, '2026-11-23');
    await authoriseVisit(deps, lime, id, 'ok', false, { level: 'low', reason: 'known family' });
    await departTold(deps, staff, id, { ...go(), safeWord: 'oak' });
    expect((await getVisit(db, id))!.status).toBe('departed');
    await returnVisit(deps, staff, id);
  });

  it('refuses a day gone by, one over a year ahead, and people who may not move it; a visit asked for a past day is refused', async () => {
    const id = await requestVisit(deps, office, { schoolId: 'thames', pupilMisId: 'P1', reason: 'x' });
    expect(await refusal(changeVisitDate(deps, office, id, '2026-11-22'))).toEqual({
      code: 'DOORSTEP_BAD_REQUEST',
      message: 'date: expected today (2026-11-23) or later',
    });
    expect((await refusal(changeVisitDate(deps, office, id, '2027-11-25'))).message).toMatch(
      /^date: expected a day within a year/,
    );
    expect((await refusal(changeVisitDate(deps, office, id, '2026-02-30'))).message).toMatch(
      /^date: expected a date/,
    );
    // Someone who neither asked for it, leads it, nor works in the office: not theirs to move.
    await db.query('UPDATE visits SET lead_user_id = $2 WHERE id = $1', [id, staff.id]);
    expect((await refusal(changeVisitDate(deps, stranger, id, '2026-11-24'))).code).toBe(
      'DOORSTEP_FORBIDDEN',
    );
    expect(
      await refusal(
        requestVisit(deps, office, {
          schoolId: 'thames',
          pupilMisId: 'P1',
          reason: 'x',
          plannedFor: '2026-11-20',
        }),
      ),
    ).toEqual({ code: 'DOORSTEP_BAD_REQUEST', message: 'plannedFor: expected today (2026-11-23) or later' });
    expect(
      (
        await refusal(
          requestVisit(deps, office, {
            schoolId: 'thames',
            pupilMisId: 'P1',
            reason: 'x',
            plannedFor: '2027-11-25',
          }),
        )
      ).message,
    ).toBe('plannedFor: expected a day within a year (by 2027-11-24)');
    // The visit page offers no authorising or telling the family once its day has passed: it offers the move.
    await db.query(`UPDATE visits SET planned_for = '2026-11-20' WHERE id = $1`, [id]);
    const offered = allowedActions(
      lifecycleOf((await getVisit(db, id))!, now),
      actorOf(head),
      deps.rulesFor('thames'),
    );
    expect(offered).toContain('change-date');
    expect(offered).not.toContain('sign-list');
    expect(offered).not.toContain('tell-family');
  });
});
