import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { newTimeSendsBack, setAppointment } from '../../src/visits/appointment.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { authoriseVisit, requestVisit } from '../../src/visits/request.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * King's: "A dynamic risk assessment should be completed before the visit, considering known risks
 * related to the family, location, and timing". The assessment is made when the visit is authorised;
 * a time set or changed after it is a visit nobody has assessed, so it goes back for both — through
 * the real register and PostgreSQL. (A pack whose assessment does not weigh the timing keeps its
 * authorisation on a new time: test/visits/appointments-agreements.test.ts.)
 */
const schema = uniqueName('timing');
let db: Db;
let deps: VisitDeps;
let staff: User;
let dsl: User;
const now = new Date('2026-11-23T09:00:00Z');

beforeAll(async () => {
  const config = visitSchoolsConfig('    notices: { awaitingAuthorisation: ["email:dsl"] }');
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now };
  await addPupils(db, ['gomer', 'lime']);
  staff = await addUser(db, 'staff', ['visiting-staff'], { displayName: 'Sam Staff' });
  dsl = await addUser(db, 'dsl', ['safeguarding'], { positions: ['dsl'], displayName: 'Dee Lead' });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const sentBack = async (visitId: string) =>
  (
    await db.query<{ after: { why: string; riskAssessed: boolean } }>(
      `SELECT after FROM audit_log WHERE entity_id = $1 AND action = 'visit.sent-back-for-authorisation' ORDER BY id`,
      [visitId],
    )
  ).rows.map((r) => r.after);
const noticesOf = async (visitId: string) =>
  (
    await db.query<{ text: string }>(
      `SELECT DISTINCT text FROM notices WHERE visit_id = $1 AND kind = 'awaiting-authorisation' ORDER BY text`,
      [visitId],
    )
  ).rows.map((r) => r.text);

describe('King’s: the risk assessment weighs the timing', () => {
  it('a time set or changed after the visit was authorised and assessed sends it back for both; the same time changes nothing', async () => {
    const id = await requestVisit(deps, staff, {
      schoolId: 'gomer',
      pupilMisId: 'P1',
      reason: 'absent 3 days',
      plannedFor: '2026-11-24',
    });
    const authorise = () =>
      authoriseVisit(deps, dsl, id, 'known family', false, { level: 'low', reason: 'nothing on CPOMS' });
    // Asked for, nothing given yet: a time withdraws nothing, and the page says nothing of it.
    expect(newTimeSendsBack(deps, staff, (await getVisit(db, id))!)).toBe(false);
    await authorise();
    expect(await getVisit(db, id)).toMatchObject({ status: 'authorised', riskAssessedBy: `user:${dsl.id}` });
    expect(newTimeSendsBack(deps, staff, (await getVisit(db, id))!)).toBe(true);

    // Assessed with no time: the time set now was never weighed.
    await setAppointment(deps, staff, id, { time: '14:00' });
    expect(await getVisit(db, id)).toMatchObject({
      status: 'requested',
      authorisedBy: null,
      riskAssessedAt: null,
      appointmentAt: new Date('2026-11-24T14:00:00Z'),
    });
    expect(await sentBack(id)).toEqual([
      expect.objectContaining({
        riskAssessed: false,
        why: 'the appointment time changed and the risk assessment weighs the timing: authorise and assess the visit at its new time',
      }),
    ]);

    await authorise();
    // The same time again: nothing changed, nothing withdrawn.
    await setAppointment(deps, staff, id, { time: '14:00' });
    expect((await getVisit(db, id))!.status).toBe('authorised');
    expect(await sentBack(id)).toHaveLength(1);

    // A later time: back again, and the authorisers hear what moved.
    await setAppointment(deps, staff, id, { time: '16:30' });
    expect(await getVisit(db, id)).toMatchObject({ status: 'requested', riskAssessedAt: null });
    expect(await sentBack(id)).toHaveLength(2);
    expect(await noticesOf(id)).toContainEqual(
      expect.stringMatching(
        /appointment time was changed from Tue 24 Nov 2026, 14:00 to Tue 24 Nov 2026, 16:30 by Sam Staff, and the risk assessment weighs the timing, so it waits for authorisation \(and its risk assessment\) again/,
      ),
    );
  });

  it('a visit not yet authorised takes a time without anything to withdraw', async () => {
    const id = await requestVisit(deps, staff, { schoolId: 'gomer', pupilMisId: 'P1', reason: 'absent' });
    await setAppointment(deps, staff, id, { time: '10:30' });
    expect(await getVisit(db, id)).toMatchObject({ status: 'requested' });
    expect(await sentBack(id)).toEqual([]);
  });

  it('a pack whose assessment does not weigh the timing is not sent back by a new time', async () => {
    const lime = await addUser(db, 'limesg', ['safeguarding'], { schools: ['lime'] });
    const id = await requestVisit(deps, staff, { schoolId: 'lime', pupilMisId: 'P1', reason: 'absent' });
    await authoriseVisit(deps, lime, id, 'known family', false, { level: 'low', reason: 'nothing on CPOMS' });
    expect(newTimeSendsBack(deps, staff, (await getVisit(db, id))!)).toBe(false);
    await setAppointment(deps, staff, id, { time: '11:00' });
    expect((await getVisit(db, id))!.status).toBe('authorised');
  });
});
