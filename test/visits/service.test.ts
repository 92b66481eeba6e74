import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { londonClock } from '../../src/domain/attendance/dates.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { mayHandleVisit } from '../../src/visits/access.ts';
import { flagAddress } from '../../src/visits/address-flags.ts';
import { setAppointment } from '../../src/visits/appointment.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { approveCommute } from '../../src/visits/commute.ts';
import { departureCheck } from '../../src/visits/departure.ts';
import { goOnVisit } from '../../src/visits/going.ts';
import { approveOutOfHours } from '../../src/visits/out-of-hours.ts';
import { cancelParentLate, cancelVisit, recordNoAnswer, recordOutcome } from '../../src/visits/outcome.ts';
import { assessRisk, authoriseVisit, requestVisit, signDayList } from '../../src/visits/request.ts';
import {
  arriveVisit,
  checkInVisit,
  recordParentRunningLate,
  returnVisit,
  runningLate,
} from '../../src/visits/while-out.ts';
import { refusal } from '../helpers/refusal.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

const schema = uniqueName('visits');
const config = visitSchoolsConfig();
let db: Db;
let deps: VisitDeps;
let now = new Date('2026-11-23T10:00:00Z');
let office: User;
let staff: User;
let partner: User;
let dsl: User;
let head: User;
let sbm: User;
let gomerOnly: User;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: 'unused', now: () => now };
  await addPupils(db, ['lime', 'thames', 'hampton', 'gomer']);
  office = await addUser(db, 'office', ['office']);
  staff = await addUser(db, 'staff', ['visiting-staff'], {
    displayName: 'Sam Visitor',
    phone: '+447700900111',
  });
  partner = await addUser(db, 'partner', ['visiting-staff'], {
    displayName: 'Pat Partner',
    phone: '+447700900222',
  });
  dsl = await addUser(db, 'dsl', ['safeguarding'], { positions: ['dsl'] });
  head = await addUser(db, 'head', ['safeguarding'], { positions: ['headteacher'] });
  sbm = await addUser(db, 'sbm', ['office'], { positions: ['business-manager'] });
  gomerOnly = await addUser(db, 'gomer', ['office'], { schools: ['gomer'] });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const back = () => new Date(now.getTime() + 60 * 60_000);

describe('the visit register', () => {
  it('Lime Hills: only the safeguarding team authorises; a safe word before leaving; the whole way to the CPOMS record', async () => {
    const id = await requestVisit(deps, staff, {
      schoolId: 'lime',
      pupilMisId: 'P1',
      reason: 'absent 5 days, no contact',
    });
    const v = (await getVisit(db, id))!;
    expect(v.address.postcode).toBe('LS6 2QT'); // from the MIS
    expect(v.leadUserId).toBe(staff.id);

    expect(
      (await refusal(departTold(deps, staff, id, { expectedReturnAt: back(), risksRead: true }))).message,
    ).toMatch(/authorised first/);
    expect((await refusal(authoriseVisit(deps, office, id))).code).toBe('DOORSTEP_FORBIDDEN');
    await authoriseVisit(deps, dsl, id, 'checked CPOMS', false, { level: 'low', reason: 'nothing on CPOMS' });
    const noWord = await refusal(departTold(deps, staff, id, { expectedReturnAt: back(), risksRead: true }));
    expect(noWord.message).toMatch(/safe word/);
    expect(
      (
        await refusal(
          departTold(deps, staff, id, { expectedReturnAt: back(), safeWord: 'bluebell', risksRead: false }),
        )
      ).message,
    ).toMatch(/risk notes/);
    await departTold(deps, staff, id, {
      expectedReturnAt: back(),
      safeWord: 'bluebell',
      risksRead: true,
      partnerUserId: partner.id,
    });

    now = new Date(now.getTime() + 20 * 60_000);
    await checkInVisit(deps, staff, id);
    now = new Date(now.getTime() + 20 * 60_000);
    await returnVisit(deps, staff, id);
    // A slip is left only when no one was home: said otherwise, the outcome is refused.
    const slip = await refusal(
      recordOutcome(deps, staff, id, {
        childSeen: true,
        noOneHome: false,
        slipLeft: true,
        agreements: [],
        concerns: [],
        followUp: [],
      }),
    );
    expect(slip.message).toMatch(/slipLeft: a "sorry you weren't in" slip is left only when no one was home/);
    await recordOutcome(deps, staff, id, {
      childSeen: true,
      noOneHome: false,
      spokeTo: 'mother',
      agreements: ['Amelia back on Monday'],
      concerns: [],
      followUp: [{ action: 'phone on Monday', by: 'attendance officer' }],
    });
    expect((await getVisit(db, id))!.status).toBe('completed');
    const { rows } = await db.query<{
      kind: string;
      body: string;
      idempotency_key: string;
      pupil_ids: string[];
    }>(
      `SELECT kind, body, idempotency_key, pupil_ids FROM outbox WHERE source_type = 'visit' AND source_id = $1`,
      [id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.idempotency_key).toBe(`visit-outcome:lime:${id}`);
    expect(rows[0]!.body).toContain('Visited by: Sam Visitor and Pat Partner');
    expect(rows[0]!.body).toContain('child seen; spoke to mother');
    expect(rows[0]!.pupil_ids).toEqual(['P1']);
    // Submitting again changes nothing.
    expect(
      (
        await refusal(
          recordOutcome(deps, staff, id, {
            childSeen: true,
            noOneHome: false,
            agreements: [],
            concerns: [],
            followUp: [],
          }),
        )
      ).code,
    ).toBe('DOORSTEP_CONFLICT');

    const audit = await db.query<{ action: string; before: unknown; after: { status?: string } }>(
      `SELECT action, before, after FROM audit_log WHERE entity_type = 'visit' AND entity_id = $1 ORDER BY id`,
      [id],
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      'visit.requested',
      'visit.risk-assessed',
      'visit.authorised',
      'visit.departed',
      'visit.checked-in',
      'visit.returned',
      'visit.completed',
    ]);
    expect(audit.rows[2]).toMatchObject({ before: { status: 'requested' }, after: { status: 'authorised' } });
  });

  it("Thames View: the Headteacher signs the day's list; a DSL cannot; never alone", async () => {
    const a = await requestVisit(deps, office, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'below 90%',
      plannedFor: '2026-11-23',
      appointmentTime: '10:30',
    });
    const b = await requestVisit(deps, office, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'follow-up',
      plannedFor: '2026-11-23',
    });
    expect((await refusal(authoriseVisit(deps, head, a))).message).toMatch(/sign the list/);
    expect((await refusal(signDayList(deps, dsl, 'thames', '2026-11-23', [a, b]))).code).toBe(
      'DOORSTEP_FORBIDDEN',
    );
    expect(await signDayList(deps, head, 'thames', '2026-11-23', [a, b])).toEqual({
      authorised: [a, b],
      skipped: [],
    });
    expect((await getVisit(db, a))!.authorisationNote).toBe('day list signed');
    // Asked for by the office, nobody leads them: the visiting staff say they are going first.
    await goOnVisit(deps, staff, a);
    await goOnVisit(deps, staff, b);
    // 2.5: the School Business Manager assesses the risk before any visit.
    const unassessed = await refusal(
      departTold(deps, staff, a, {
        onFoot: true,
        expectedReturnAt: back(),
        risksRead: true,
        partnerUserId: partner.id,
      }),
    );
    expect(unassessed.message).toMatch(/risk must be assessed first \(by business-manager\)/);
    expect((await refusal(assessRisk(deps, head, a, { level: 'low', reason: 'x' }))).code).toBe(
      'DOORSTEP_FORBIDDEN',
    );
    await assessRisk(deps, sbm, a, { level: 'low', reason: 'known family, no concerns' });
    const alone = await refusal(departTold(deps, staff, a, { expectedReturnAt: back(), risksRead: true }));
    expect(alone.message).toMatch(/two staff/);
    await departTold(deps, staff, a, {
      onFoot: true,
      expectedReturnAt: back(),
      risksRead: true,
      partnerUserId: partner.id,
    });
    expect((await getVisit(db, a))!.checkInMinutes).toBe(20); // the policy's interval
    // 2.6: no appointment, no visit (b was signed with no time recorded).
    await assessRisk(deps, sbm, b, { level: 'low', reason: 'known family' });
    const noAppointment = await refusal(
      departTold(deps, staff, b, {
        onFoot: true,
        expectedReturnAt: back(),
        risksRead: true,
        partnerUserId: partner.id,
      }),
    );
    expect(noAppointment.message).toMatch(/an appointment must be made first/);
  });

  /** A Thames View visit at 11:00 on the day's list, signed by the Headteacher (not yet assessed), the staff going on it. */
  const signedThamesVisit = async () => {
    const id = await requestVisit(deps, office, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'below 90%',
      appointmentTime: '11:00',
    });
    await signDayList(deps, head, 'thames', '2026-11-23', [id]);
    await goOnVisit(deps, staff, id);
    return id;
  };

  it('Thames View 2.5: an address flagged after the risk was assessed is a new risk — assessed again before anyone leaves', async () => {
    const id = await signedThamesVisit();
    const flaggedBefore = { schoolId: 'thames', postcode: 'LS6 2QT', level: 'caution' as const, note: 'dog' };
    const thames = deps.config.schools.find((s) => s.id === 'thames')!;
    // A flag the assessment saw is not new.
    await flagAddress(db, dsl, flaggedBefore, thames, new Date(now.getTime() - 60_000));
    await assessRisk(deps, sbm, id, { level: 'low', reason: 'known family' });
    const go = {
      onFoot: true,
      expectedReturnAt: back(),
      risksRead: true,
      partnerUserId: partner.id,
      identification: true,
    };
    const leave = () => departTold(deps, staff, id, { ...go, expectedReturnAt: back() });
    // (The staff are still out on earlier tests' visits: that warning is not what this test is about.)
    const rulesNow = async () =>
      (await departureCheck(deps, staff, id, { ...go, expectedReturnAt: back() }))
        .map((f) => f.rule)
        .filter((r) => r !== 'already-out');
    // The flag the assessment saw stands in nobody's way (the family's notice is recorded as leaving).
    expect(await rulesNow()).toEqual(['family-notice']);
    const start = now;
    try {
      now = new Date(now.getTime() + 60_000);
      await flagAddress(
        db,
        dsl,
        { ...flaggedBefore, level: 'dangerous', note: 'father threatened staff' },
        thames,
        now,
      );
      now = new Date(now.getTime() + 60_000);
      const refused = await refusal(leave());
      expect(refused.code).toBe('DOORSTEP_POLICY');
      expect(refused.message).toMatch(
        /the address was flagged dangerous after the risk was assessed: the assessment must be amended first \(by business-manager\)/,
      );
      await assessRisk(deps, sbm, id, { level: 'major', reason: 'threat recorded: police aware, two staff' });
      await leave();
      expect((await getVisit(db, id))!.status).toBe('departed');
      await returnVisit(deps, staff, id);
    } finally {
      now = start;
      // The other tests' Thames View visits go to the same address.
      await db.query(`DELETE FROM address_flags WHERE school_id = 'thames'`);
    }
  });

  it('Thames View 2.5: a flag the assessment was not made with is new, whatever its time — recorded while the page was open, or committed after the assessment was read', async () => {
    const id = await signedThamesVisit();
    const thames = deps.config.schools.find((s) => s.id === 'thames')!;
    const flag = { schoolId: 'thames', postcode: 'LS6 2QT', level: 'dangerous' as const, note: 'knife seen' };
    const go = {
      onFoot: true,
      expectedReturnAt: back(),
      risksRead: true,
      partnerUserId: partner.id,
      identification: true,
    };
    // (The staff are still out on earlier tests' visits: that warning is not what this test is about.)
    const rulesNow = async () =>
      (await departureCheck(deps, staff, id, { ...go, expectedReturnAt: back() }))
        .map((f) => f.rule)
        .filter((r) => r !== 'already-out');
    try {
      // The page showed no flags; one was recorded before the assessor pressed the button.
      await flagAddress(db, dsl, flag, thames, new Date(now.getTime() - 60_000));
      const stale = await refusal(
        assessRisk(deps, sbm, id, { level: 'low', reason: 'known family', flagsSeen: [] }),
      );
      expect(stale.code).toBe('DOORSTEP_CONFLICT');
      expect(stale.message).toMatch(
        /the address was flagged since the page was opened \(DANGEROUS by .+\): read the flag and assess the risk again/,
      );
      expect((await getVisit(db, id))!.riskAssessedAt).toBeNull();
      // Assessed with it in view: it stands in nobody's way.
      const shown = (
        await db.query<{ id: string }>(`SELECT id::text FROM address_flags WHERE school_id = 'thames'`)
      ).rows[0]!.id;
      await assessRisk(deps, sbm, id, { level: 'major', reason: 'knife: police aware', flagsSeen: [shown] });
      expect(await rulesNow()).toEqual(['family-notice']);
      // A flag stamped before the assessment whose transaction committed after it (the assessment
      // could not see it): its time says "before", but the assessment was not made with it.
      await flagAddress(
        db,
        dsl,
        { ...flag, level: 'caution', note: 'dog' },
        thames,
        new Date(now.getTime() - 30_000),
      );
      expect(await rulesNow()).toContain('risk-assessment');
      await assessRisk(deps, sbm, id, { level: 'major', reason: 'knife and dog' });
      expect(await rulesNow()).toEqual(['family-notice']);
    } finally {
      await db.query(`DELETE FROM address_flags WHERE school_id = 'thames'`);
    }
  });

  it('Lime Hills: an authorised visit whose time slips into the evening is approved then by an authoriser, with why — not cancelled and asked for again', async () => {
    const id = await requestVisit(deps, staff, { schoolId: 'lime', pupilMisId: 'P1', reason: 'no contact' });
    await authoriseVisit(deps, dsl, id, 'ok', false, { level: 'low', reason: 'known family' });
    const start = now;
    try {
      now = new Date('2026-11-23T18:30:00Z'); // 18:30 in London: evening
      const go = () =>
        departTold(deps, staff, id, {
          expectedReturnAt: back(),
          risksRead: true,
          safeWord: 'oak',
          partnerUserId: partner.id,
        });
      expect((await refusal(go())).message).toMatch(/not recommended: the authoriser must approve this one/);
      // Whoever asked for it may not approve it; an empty reason is refused.
      expect((await refusal(approveOutOfHours(deps, staff, id, 'family in after six'))).code).toBe(
        'DOORSTEP_FORBIDDEN',
      );
      expect((await refusal(approveOutOfHours(deps, dsl, id, '  '))).code).toBe('DOORSTEP_BAD_REQUEST');
      await approveOutOfHours(deps, dsl, id, 'mother works until six; child unseen for a week');
      expect((await refusal(approveOutOfHours(deps, dsl, id, 'again'))).code).toBe('DOORSTEP_CONFLICT');
      const { rows } = await db.query<{ after: Record<string, unknown> }>(
        `SELECT after FROM audit_log WHERE action = 'visit.out-of-hours-approved' AND entity_id = $1`,
        [id],
      );
      expect(rows.map((r) => r.after)).toEqual([
        { outOfHoursApproved: true, reason: 'mother works until six; child unseen for a week' },
      ]);
      await go();
      expect((await getVisit(db, id))!.status).toBe('departed');
      await returnVisit(deps, staff, id);
    } finally {
      now = start;
    }
  });

  it('a visit leaves on the day it is planned for: authorised, and the family told, for that day', async () => {
    const tomorrow = await requestVisit(deps, staff, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
      plannedFor: '2026-11-24',
    });
    const go = { expectedReturnAt: back(), partnerUserId: partner.id, risksRead: true };
    const early = await refusal(departTold(deps, staff, tomorrow, go));
    expect(early.code).toBe('DOORSTEP_POLICY');
    expect(early.message).toMatch(/planned for 2026-11-24, not today \(2026-11-23\)/);
    expect((await getVisit(db, tomorrow))!.status).toBe('requested');
    const start = now;
    try {
      now = new Date('2026-11-24T09:30:00Z');
      await departTold(deps, staff, tomorrow, { ...go, expectedReturnAt: back() });
      expect((await getVisit(db, tomorrow))!.status).toBe('departed');
      await returnVisit(deps, staff, tomorrow);
    } finally {
      now = start;
    }
  });

  it('Thames View 3.4/3.5: "no answer" only once the 20-minute wait is over, then an outcome, not left open; "over 30 minutes late" cancels with the clause', async () => {
    const start = now;
    const departThames = async () => {
      const id = await requestVisit(deps, staff, {
        schoolId: 'thames',
        pupilMisId: 'P1',
        reason: 'attendance',
        // The worker arrives at the arranged time: the wait at the door counts from it.
        appointmentTime: londonClock(now),
      });
      await db.query(
        `UPDATE visits SET status = 'authorised', risk_assessed_at = $2, risk_assessed_by = 'user:sbm' WHERE id = $1`,
        [id, now],
      );
      await departTold(deps, staff, id, {
        expectedReturnAt: back(),
        partnerUserId: partner.id,
        risksRead: true,
        onFoot: true,
      });
      return id;
    };
    try {
      const id = await departThames();
      expect((await refusal(recordNoAnswer(deps, staff, id))).code).toBe('DOORSTEP_CONFLICT'); // not at the door
      await arriveVisit(deps, staff, id);
      now = new Date(now.getTime() + 19 * 60_000);
      expect((await refusal(recordNoAnswer(deps, staff, id))).code).toBe('DOORSTEP_CONFLICT');
      now = new Date(now.getTime() + 60_000);
      expect((await refusal(recordNoAnswer(deps, gomerOnly, id))).code).toBe('DOORSTEP_FORBIDDEN');
      await recordNoAnswer(deps, staff, id, true);
      let v = (await getVisit(db, id))!;
      expect(v.status).toBe('departed'); // still watched until back safe
      expect(v.outcome).toMatchObject({ noOneHome: true, childSeen: false, slipLeft: true });
      expect(String((v.outcome!.concerns as string[])[0])).toMatch(/No answer.*waited 20 minutes.*3\.4/);
      const { rows: out } = await db.query<{ body: string }>(
        `SELECT body FROM outbox WHERE idempotency_key = $1`,
        [`visit-outcome:thames:${id}`],
      );
      expect(out).toHaveLength(1);
      // The worker said they left the slip: the record says so.
      expect(out[0]!.body).toContain(`no one was home; a "sorry you weren't in" slip was left.`);
      await returnVisit(deps, staff, id);
      v = (await getVisit(db, id))!;
      expect(v.status).toBe('completed');

      const late = await departThames();
      // 3.5 applies to a parent who gave notice they are running late (recorded on the way there).
      await recordParentRunningLate(deps, partner, late);
      await arriveVisit(deps, staff, late);
      now = new Date(now.getTime() + 30 * 60_000);
      expect((await refusal(cancelParentLate(deps, staff, late))).code).toBe('DOORSTEP_CONFLICT'); // not over 30
      now = new Date(now.getTime() + 60_000);
      await cancelParentLate(deps, partner, late);
      v = (await getVisit(db, late))!;
      expect(v.status).toBe('cancelled');
      expect(v.cancelReason).toMatch(/gave notice they were running late.*over 30 minutes late.*3\.5/);
      expect(v.returnedAt).toBeNull(); // cancelled while out: still watched
      expect((await refusal(recordNoAnswer(deps, staff, late))).code).toBe('DOORSTEP_CONFLICT');
      await returnVisit(deps, staff, late);
      // Where the pack says nothing of appointments, neither exists.
      const lime = await requestVisit(deps, staff, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'x' });
      await departTold(deps, staff, lime, {
        expectedReturnAt: back(),
        partnerUserId: partner.id,
        risksRead: true,
      });
      await arriveVisit(deps, staff, lime);
      now = new Date(now.getTime() + 45 * 60_000);
      expect((await refusal(recordNoAnswer(deps, staff, lime))).code).toBe('DOORSTEP_CONFLICT');
      expect((await refusal(cancelParentLate(deps, staff, lime))).code).toBe('DOORSTEP_CONFLICT');
      await returnVisit(deps, staff, lime);
    } finally {
      now = start;
    }
  });

  it('Hampton: no authorisation step, but always pairs; a cancellation needs a reason and is audited', async () => {
    const id = await requestVisit(deps, staff, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'induction visit',
    });
    expect(
      (await refusal(departTold(deps, staff, id, { expectedReturnAt: back(), risksRead: true }))).message,
    ).toMatch(/two staff/);
    expect((await refusal(cancelVisit(deps, staff, id, '  '))).code).toBe('DOORSTEP_BAD_REQUEST');
    await cancelVisit(deps, staff, id, 'parent not present after 20 minutes');
    expect((await getVisit(db, id))!.cancelReason).toBe('parent not present after 20 minutes');
  });

  it("King's Gomer: a DSL may approve a visit outside working hours; Lime Hills' evening visits need the authoriser's approval", async () => {
    const gomerDsl = await addUser(db, 'gomer.dsl', ['safeguarding'], { positions: ['dsl'] });
    // "At least one member of the visiting team should be trained in safeguarding."
    await db.query(`UPDATE users SET safeguarding_trained_on = '2025-09-01' WHERE id = $1`, [partner.id]);
    // 4 "Staff involved in home visits must undergo training on this policy …": both going.
    await db.query(`UPDATE users SET home_visit_trained_on = '2025-09-01' WHERE id = ANY($1)`, [
      [staff.id, partner.id],
    ]);
    const dynamic = { level: 'low' as const, reason: 'dynamic risk assessment: family known, daylight' };
    now = new Date('2026-11-23T19:00:00Z'); // 19:00 in London (GMT)
    const id = await requestVisit(deps, staff, {
      schoolId: 'gomer',
      pupilMisId: 'P1',
      reason: 'child not seen',
    });
    expect((await refusal(authoriseVisit(deps, gomerDsl, id))).message).toMatch(
      /assess the risk when authorising/,
    );
    await authoriseVisit(deps, gomerDsl, id, undefined, false, dynamic);
    const late = await refusal(
      departTold(deps, staff, id, { expectedReturnAt: back(), risksRead: true, partnerUserId: partner.id }),
    );
    expect(late.message).toMatch(
      /between 08:00 and 17:30 on working days only unless the authoriser approved this one/,
    );

    const approved = await requestVisit(deps, staff, {
      schoolId: 'gomer',
      pupilMisId: 'P1',
      reason: 'child not seen',
    });
    // Approving outside the hours says why (King's "exceptional circumstances").
    expect((await refusal(authoriseVisit(deps, gomerDsl, approved, '  ', true, dynamic))).message).toBe(
      'note: say why the visit is approved outside the hours',
    );
    await authoriseVisit(deps, gomerDsl, approved, 'police welfare check asked for tonight', true, dynamic);
    // "Staff must inform the school office of their estimated arrival and departure times".
    const noArrival = await refusal(
      departTold(deps, staff, approved, {
        expectedReturnAt: back(),
        risksRead: true,
        partnerUserId: partner.id,
      }),
    );
    expect(noArrival.message).toMatch(/tell the office your estimated arrival time/);
    const arriving = new Date(now.getTime() + 20 * 60_000);
    await departTold(deps, staff, approved, {
      expectedReturnAt: back(),
      estimatedArrivalAt: arriving,
      risksRead: true,
      partnerUserId: partner.id,
    });
    expect(await getVisit(db, approved)).toMatchObject({ status: 'departed', estimatedArrivalAt: arriving });

    // Lime Hills "strongly recommends" no evening visits: one goes only with the authoriser's
    // explicit approval (an emergency safeguarding visit), and departs with a warning.
    const lime = await requestVisit(deps, staff, { schoolId: 'lime', pupilMisId: 'P1', reason: 'evening' });
    await authoriseVisit(deps, dsl, lime, undefined, false, { level: 'low', reason: 'x' });
    const evening = await refusal(
      departTold(deps, staff, lime, { expectedReturnAt: back(), risksRead: true, safeWord: 'oak' }),
    );
    expect(evening.message).toMatch(/not recommended: the authoriser must approve this one/);
    const urgent = await requestVisit(deps, staff, {
      schoolId: 'lime',
      pupilMisId: 'P1',
      reason: 'urgent welfare',
    });
    await authoriseVisit(deps, dsl, urgent, 'emergency safeguarding visit', true, {
      level: 'low',
      reason: 'x',
    });
    await departTold(deps, staff, urgent, { expectedReturnAt: back(), risksRead: true, safeWord: 'oak' });
    expect((await getVisit(db, urgent))!.status).toBe('departed');
    now = new Date('2026-11-24T10:00:00Z');
  });

  it('keeps people to their own school and visiting staff to their own visits', async () => {
    expect(
      (await refusal(requestVisit(deps, gomerOnly, { schoolId: 'lime', pupilMisId: 'P1', reason: 'x' })))
        .code,
    ).toBe('DOORSTEP_FORBIDDEN');
    const id = await requestVisit(deps, office, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'x',
      leadUserId: partner.id,
    });
    expect((await refusal(cancelVisit(deps, staff, id, 'not mine'))).message).toMatch(/not yours/);
    // An unassigned visit the office asked for: visiting staff may take it, not cancel it.
    const unassigned = await requestVisit(deps, office, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'x',
    });
    expect((await refusal(cancelVisit(deps, staff, unassigned, 'not needed'))).code).toBe(
      'DOORSTEP_FORBIDDEN',
    );
    await cancelVisit(deps, office, unassigned, 'not needed');
    expect(
      (await refusal(requestVisit(deps, office, { schoolId: 'lime', pupilMisId: 'NOPE', reason: 'x' })))
        .message,
    ).toMatch(/no pupil "NOPE"/);
  });

  it('risk is a decision with an owner: an assessor raises or lowers it with a reason; a dangerous address raises it; Hampton and Heath Lane refuse major risk', async () => {
    const id = await requestVisit(deps, staff, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
      riskLevel: 'low',
    });
    // Visiting staff propose; the safeguarding team assesses.
    expect((await getVisit(db, id))!.riskAssessedAt).toBeNull();
    expect((await refusal(assessRisk(deps, staff, id, { level: 'low', reason: 'fine' }))).code).toBe(
      'DOORSTEP_FORBIDDEN',
    );
    await assessRisk(deps, dsl, id, { level: 'major', reason: 'history of violence at the address' });
    const v = (await getVisit(db, id))!;
    expect(v).toMatchObject({ riskLevel: 'major', riskReason: 'history of violence at the address' });
    const refused = await refusal(
      departTold(deps, staff, id, { expectedReturnAt: back(), risksRead: true, partnerUserId: partner.id }),
    );
    expect(refused.message).toMatch(/risk is major: the policy says no visit at this level/);
    const { rows } = await db.query<{ before: unknown; after: unknown }>(
      `SELECT before, after FROM audit_log WHERE action = 'visit.risk-assessed' AND entity_id = $1`,
      [id],
    );
    expect(rows).toEqual([
      {
        before: { riskLevel: 'low', assessed: false },
        // The address had no flags: the assessment was made with none.
        after: { riskLevel: 'major', reason: 'history of violence at the address', addressFlags: [] },
      },
    ]);

    // A DANGEROUS flag on the address raises a low assessment to major (Heath Lane: no visit).
    await db.query(
      `INSERT INTO address_flags (school_id, postcode, level, note, created_by) VALUES ('lime', 'LS62QT', 'dangerous', 'dog', 'DSL')`,
    );
    const flagged = await requestVisit(deps, staff, {
      schoolId: 'lime',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
    await authoriseVisit(deps, dsl, flagged, undefined, false, { level: 'low', reason: 'no concerns known' });
    const alone = await refusal(
      departTold(deps, staff, flagged, { expectedReturnAt: back(), risksRead: true, safeWord: 'oak' }),
    );
    expect(alone.message).toMatch(/two staff/); // Lime Hills: pairs where there is a risk
    await db.query(`DELETE FROM address_flags WHERE school_id = 'lime'`);
  });

  it('authorisers are exactly the pack’s: not an admin without the role, not the requester at Lime Hills, the deputy head at Thames View', async () => {
    const admin = await addUser(db, 'admin.only', ['admin']);
    const id = await requestVisit(deps, staff, { schoolId: 'lime', pupilMisId: 'P1', reason: 'x' });
    expect(
      (await refusal(authoriseVisit(deps, admin, id, undefined, false, { level: 'low', reason: 'x' }))).code,
    ).toBe('DOORSTEP_FORBIDDEN');
    // Lime Hills: the one who asked does not sign their own visit (`selfAuthorise: false`): the
    // policy's form is "signed [by] a member of the Safeguarding team" — someone else.
    const own = await requestVisit(deps, dsl, { schoolId: 'lime', pupilMisId: 'P1', reason: 'x' });
    expect(
      (await refusal(authoriseVisit(deps, dsl, own, undefined, false, { level: 'low', reason: 'x' })))
        .message,
    ).toMatch(/not a visit you asked for yourself/);
    const deputy = await addUser(db, 'deputy', ['safeguarding'], { positions: ['headteacher'] });
    const t = await requestVisit(deps, office, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'x',
      plannedFor: '2026-11-30',
    });
    expect((await signDayList(deps, deputy, 'thames', '2026-11-30', [t])).authorised).toEqual([t]);
    expect((await refusal(signDayList(deps, admin, 'thames', '2026-11-30', [t]))).code).toBe(
      'DOORSTEP_FORBIDDEN',
    );
  });
});

describe('review 2: the watch cannot be pushed out, the office is never the worker, the list signs what was shown', () => {
  const minutes = (n: number) => n * 60_000;

  it('running late: a new return time must be in the future and at most 4 hours on — never "that time tomorrow"', async () => {
    const start = now;
    try {
      now = new Date('2026-11-23T10:00:00Z');
      const id = await requestVisit(deps, staff, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'late' });
      await departTold(deps, staff, id, {
        expectedReturnAt: new Date(now.getTime() + minutes(60)),
        risksRead: true,
        partnerUserId: partner.id,
      });
      now = new Date('2026-11-23T11:05:00Z'); // overdue since 11:00
      // What the phone page used to send for "11:00" picked at 11:05: 11:00 tomorrow.
      const tomorrow = await refusal(
        runningLate(deps, staff, id, new Date('2026-11-24T11:00:00Z'), 'parent arrived late'),
      );
      expect(tomorrow.code).toBe('DOORSTEP_BAD_REQUEST');
      expect(tomorrow.message).toMatch(
        /^expectedReturnAt: 11:00 on 2026-11-24 is too far ahead: expected a time after 11:05 and no later than 15:05 .*at most 4 hours/,
      );
      const past = await refusal(runningLate(deps, office, id, new Date('2026-11-23T11:00:00Z'), 'late'));
      expect(past.message).toMatch(/11:00 is not in the future/);
      expect(
        (await refusal(runningLate(deps, staff, id, new Date(now.getTime() + minutes(241)), 'x'))).code,
      ).toBe('DOORSTEP_BAD_REQUEST');
      expect((await getVisit(db, id))!.expectedReturnAt).toEqual(new Date('2026-11-23T11:00:00Z'));
      // The worker's own new time: at most 4 hours after they left (nobody else has confirmed them since).
      const own = await refusal(runningLate(deps, staff, id, new Date(now.getTime() + minutes(240)), 'x'));
      expect(own.message).toMatch(
        /15:05 is more than 4 hours after 10:00.*no later than 14:00, or call the office/,
      );
      // The office's, after speaking to them: up to 4 hours on, counted from now (the worker is already overdue).
      await runningLate(
        deps,
        office,
        id,
        new Date(now.getTime() + minutes(240)),
        'waiting for a social worker',
      );
      expect((await getVisit(db, id))!.expectedReturnAt).toEqual(new Date('2026-11-23T15:05:00Z'));
      await returnVisit(deps, staff, id);
    } finally {
      now = start;
    }
  });

  it('departure: an expected return more than 4 hours on is refused (Hampton, back "in a week")', async () => {
    const start = now;
    try {
      now = new Date('2026-11-23T10:00:00Z');
      const id = await requestVisit(deps, staff, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'week' });
      const week = await refusal(
        departTold(deps, staff, id, {
          expectedReturnAt: new Date('2026-11-30T11:00:00Z'),
          risksRead: true,
          partnerUserId: partner.id,
        }),
      );
      expect(week.code).toBe('DOORSTEP_POLICY');
      expect(week.message).toMatch(
        /expected return: 11:00 on 2026-11-30 is too far ahead.*no later than 14:00/,
      );
      await departTold(deps, staff, id, {
        expectedReturnAt: new Date(now.getTime() + minutes(240)),
        risksRead: true,
        partnerUserId: partner.id,
      });
      await returnVisit(deps, staff, id);
    } finally {
      now = start;
    }
  });

  it('the office never becomes the worker out: an unled visit departs with a named lead, active visiting staff of the school', async () => {
    const start = now;
    try {
      now = new Date('2026-11-23T10:00:00Z');
      const elsewhere = await addUser(db, 'gomer.visitor', ['visiting-staff'], { schools: ['gomer'] });
      const both = await addUser(db, 'office.visitor', ['office', 'visiting-staff'], {
        phone: '+447700900333',
      });
      const unled = async () => {
        const id = await requestVisit(deps, office, {
          schoolId: 'lime',
          pupilMisId: 'P1',
          reason: 'no contact',
        });
        await authoriseVisit(deps, dsl, id, 'ok', false, { level: 'low', reason: 'nothing known' });
        expect((await getVisit(db, id))!.leadUserId).toBeNull();
        return id;
      };
      const go = {
        expectedReturnAt: new Date(now.getTime() + minutes(60)),
        safeWord: 'bluebell',
        risksRead: true,
      };
      const id = await unled();
      const noLead = await refusal(departTold(deps, office, id, go));
      expect(noLead.code).toBe('DOORSTEP_POLICY');
      expect(noLead.message).toMatch(/^leadUserId: nobody leads this visit: name who is going/);
      expect((await refusal(departTold(deps, office, id, { ...go, leadUserId: office.id }))).message).toMatch(
        /^leadUserId: the lead must be active visiting staff of this school/,
      );
      expect(
        (await refusal(departTold(deps, office, id, { ...go, leadUserId: elsewhere.id }))).message,
      ).toMatch(/^leadUserId: the lead must be active visiting staff of this school/);
      await db.query('UPDATE users SET disabled = true WHERE id = $1', [partner.id]);
      // Disabled, missing or elsewhere: one answer (it never tells whether an id is someone in the trust).
      const disabled = await refusal(departTold(deps, office, id, { ...go, leadUserId: partner.id }));
      expect(disabled.code).toBe('DOORSTEP_POLICY');
      expect(disabled.message).toMatch(/^leadUserId: the lead must be active visiting staff of this school/);
      expect((await refusal(departTold(deps, office, id, { ...go, leadUserId: '999999' }))).message).toBe(
        disabled.message,
      );
      await db.query('UPDATE users SET disabled = false WHERE id = $1', [partner.id]);
      expect((await getVisit(db, id))!.status).toBe('authorised');
      // Visiting staff do not leave on a visit nobody leads, for themselves or naming a colleague:
      // they say they are going first ("I'll go on this visit"), which shows them the pupil's flags
      // and the family's contacts — the form's "I have read them" would confirm what they were never
      // shown — and a colleague would be out, watched and alarmed without knowing.
      const refusedToStaff =
        /^nobody leads this visit yet: say you are going on it first \(I'll go on this visit\), and read the pupil's flags/;
      for (const named of [{}, { leadUserId: partner.id }, { leadUserId: staff.id }]) {
        const own = await refusal(departTold(deps, partner, id, { ...go, ...named }));
        expect(own.code).toBe('DOORSTEP_FORBIDDEN');
        expect(own.message).toMatch(refusedToStaff);
      }
      expect((await getVisit(db, id))!).toMatchObject({ status: 'authorised', leadUserId: null });

      await departTold(deps, office, id, { ...go, leadUserId: staff.id });
      const v = (await getVisit(db, id))!;
      expect(v).toMatchObject({ status: 'departed', leadUserId: staff.id, workerPhone: '+447700900111' });
      expect(mayHandleVisit(staff, v)).toBe(true);
      await returnVisit(deps, staff, id);

      // A visit with its lead: naming someone else is refused.
      const led = await requestVisit(deps, staff, { schoolId: 'lime', pupilMisId: 'P1', reason: 'led' });
      await authoriseVisit(deps, dsl, led, 'ok', false, { level: 'low', reason: 'x' });
      expect(
        (await refusal(departTold(deps, office, led, { ...go, leadUserId: partner.id }))).message,
      ).toMatch(/already has its lead/);
      // The lead it was asked with is checked at departure as a named one is: one since disabled, or
      // no longer visiting staff, is not the worker to watch.
      await db.query('UPDATE users SET disabled = true WHERE id = $1', [staff.id]);
      expect((await refusal(departTold(deps, office, led, go))).message).toMatch(
        /^leadUserId: the lead must be active visiting staff of this school/,
      );
      await db.query(`UPDATE users SET disabled = false, roles = '{office}' WHERE id = $1`, [staff.id]);
      expect((await refusal(departTold(deps, office, led, go))).message).toMatch(
        /^leadUserId: the lead must be active visiting staff of this school/,
      );
      await db.query(`UPDATE users SET roles = '{visiting-staff}' WHERE id = $1`, [staff.id]);
      await cancelVisit(deps, office, led, 'not needed');
      // Someone who holds the visiting-staff role at the school (here also office) goes themselves.
      const own = await unled();
      await departTold(deps, both, own, go);
      expect((await getVisit(db, own))!).toMatchObject({ leadUserId: both.id, workerPhone: '+447700900333' });
      await returnVisit(deps, both, own);
    } finally {
      now = start;
    }
  });

  it("signing the day's list signs only the visits shown and the signer may sign — their own request too where the pack says so (Thames View: the Headteacher alone signs) — never one added since", async () => {
    const own = await requestVisit(deps, head, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'own request',
      plannedFor: '2026-12-01',
    });
    const shown = await requestVisit(deps, office, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'shown',
      plannedFor: '2026-12-01',
    });
    const other = await requestVisit(deps, office, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'another day',
      plannedFor: '2026-12-02',
    });
    // Asked for after the head's page was read: not among the ids they sign.
    const added = await requestVisit(deps, office, {
      schoolId: 'thames',
      pupilMisId: 'P1',
      reason: 'added later',
      plannedFor: '2026-12-01',
    });
    const signed = await signDayList(deps, head, 'thames', '2026-12-01', [own, shown, other]);
    expect(signed.authorised).toEqual([own, shown]);
    expect(signed.skipped).toEqual([{ id: other, why: 'not a visit of thames planned for 2026-12-01' }]);
    expect((await getVisit(db, own))!.status).toBe('authorised');
    expect((await getVisit(db, added))!.status).toBe('requested');
    expect((await getVisit(db, other))!.status).toBe('requested');
    const { rows } = await db.query<{ after: unknown }>(
      `SELECT after FROM audit_log WHERE action = 'visit.day-list-signed' AND entity_id = '2026-12-01'`,
    );
    expect(rows).toEqual([{ after: { visits: [own, shown], skipped: signed.skipped } }]);
    // Signed again, what is already authorised is reported, not signed twice.
    expect((await signDayList(deps, head, 'thames', '2026-12-01', [shown, added])).authorised).toEqual([
      added,
    ]);
  });
});

describe('Hampton: a visit on the way to or from work', () => {
  it('leaves only once the head of school has approved it beforehand — nobody else — and again after the address changes', async () => {
    const hos = await addUser(db, 'hos', ['office'], {
      positions: ['head-of-school'],
      displayName: 'Hana Head',
    });
    const id = await requestVisit(deps, staff, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'induction visit on the way home',
      commute: 'from-work',
    });
    expect(await getVisit(db, id)).toMatchObject({ commute: 'from-work', commuteApprovedAt: null });
    const leave = () =>
      departTold(deps, staff, id, { expectedReturnAt: back(), risksRead: true, partnerUserId: partner.id });
    const refused = await refusal(leave());
    expect(refused.message).toMatch(
      /a visit on the way to or from work needs prior approval \(by head-of-school\)/,
    );

    // Only the head of school approves it: not the office, not the headteacher position, not the DSL.
    for (const who of [office, head, dsl, staff])
      expect((await refusal(approveCommute(deps, who, id))).code).toBe('DOORSTEP_FORBIDDEN');
    await approveCommute(deps, hos, id, 'fine: on her way home past the estate');
    expect((await getVisit(db, id))!.commuteApprovedAt).toEqual(now);
    // Approved once: a second approval is refused by the visit's state.
    expect((await refusal(approveCommute(deps, hos, id))).code).toBe('DOORSTEP_CONFLICT');
    const { rows } = await db.query<{ after: Record<string, unknown> }>(
      `SELECT after FROM audit_log WHERE action = 'visit.commute-approved' AND entity_id = $1`,
      [id],
    );
    expect(rows[0]!.after).toMatchObject({ commute: 'from-work', approved: true });

    // A new address: what the head approved was the old way home.
    await setAppointment(deps, staff, id, {
      time: '16:30',
      address: { line1: '2 New Street', town: 'Leeds', postcode: 'LS6 1AA' },
    });
    expect((await getVisit(db, id))!.commuteApprovedAt).toBeNull();
    expect((await refusal(leave())).message).toMatch(/needs prior approval/);
    await approveCommute(deps, hos, id);
    await leave();
    expect((await getVisit(db, id))!.status).toBe('departed');
  });

  it('is its lead’s journey: asked for without one it is refused, and nobody else leads it once approved', async () => {
    const hos = await addUser(db, 'hos3', ['office'], { positions: ['head-of-school'] });
    const ask = {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'on the way in',
      commute: 'to-work' as const,
    };
    // The office asks without naming who is going: whose way to work would the head approve?
    const noLead = await refusal(requestVisit(deps, office, ask));
    expect(noLead.code).toBe('DOORSTEP_BAD_REQUEST');
    expect(noLead.message).toMatch(
      /^commute: a visit on the way to or from work is its lead's own journey: it is asked for by the member of visiting staff going/,
    );
    expect((await db.query(`SELECT 1 FROM visits WHERE reason = 'on the way in'`)).rows).toEqual([]);

    const id = await requestVisit(deps, office, { ...ask, leadUserId: staff.id });
    await approveCommute(deps, hos, id);
    const { rows } = await db.query<{ after: Record<string, unknown> }>(
      `SELECT after FROM audit_log WHERE action = 'visit.commute-approved' AND entity_id = $1`,
      [id],
    );
    expect(rows[0]!.after).toMatchObject({ commute: 'to-work', lead: staff.id, approved: true });
    // Leaving with someone else leading it is refused: the approval was of the lead's journey.
    const other = await refusal(
      departTold(deps, office, id, {
        expectedReturnAt: back(),
        risksRead: true,
        leadUserId: partner.id,
        partnerUserId: staff.id,
      }),
    );
    expect(other.message).toMatch(/this visit already has its lead/);
    await departTold(deps, staff, id, {
      expectedReturnAt: back(),
      risksRead: true,
      partnerUserId: partner.id,
    });
    expect(await getVisit(db, id)).toMatchObject({ status: 'departed', leadUserId: staff.id });
  });

  it('a visit from school and back needs no such approval, and has none to give', async () => {
    const hos = await addUser(db, 'hos2', ['office'], { positions: ['head-of-school'] });
    const id = await requestVisit(deps, staff, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'from school',
    });
    expect((await getVisit(db, id))!.commute).toBeNull();
    expect((await refusal(approveCommute(deps, hos, id))).code).toBe('DOORSTEP_CONFLICT');
    await departTold(deps, staff, id, {
      expectedReturnAt: back(),
      risksRead: true,
      partnerUserId: partner.id,
    });
  });
});
