import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { departVisit } from '../../src/visits/departure.ts';
import { tellFamily } from '../../src/visits/family-notice.ts';
import { assessRisk, requestVisit } from '../../src/visits/request.ts';
import { refusal } from '../helpers/refusal.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Heath Lane's policy: "Send a text notification to inform families of the intended home visit"
 * (`familyNotice: { expect: required, methods: [sms] }`). The example configuration gives Heath Lane
 * no SMS channel, so Doorstep cannot send the text: staff text the family from the school phone (the
 * policy's "Collect a school phone") and record it as a text sent by staff. It is still a text — the
 * policy is not weakened: a phone call or a letter is refused, and nothing leaves untold.
 */
const schema = uniqueName('hlfamily');
let config: DoorstepConfig;
let db: Db;
let deps: VisitDeps;
const now = new Date('2026-11-23T10:00:00Z');
let office: User;
let dsl: User;
let vera: User;
let wes: User;

beforeAll(async () => {
  config = loadConfigFile('config/doorstep.example.yaml', {});
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: 'unused', now: () => now };
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('heath-lane', '9002', 'Kofi', 'Mensah', $1)`,
    [JSON.stringify({ line1: '7 Beck Side', town: 'Exampleton', postcode: 'EX1 2AB' })],
  );
  office = await addUser(db, 'olive', ['office'], { schools: ['heath-lane'] });
  dsl = await addUser(db, 'dan', ['safeguarding'], { schools: ['heath-lane'], positions: ['dsl'] });
  vera = await addUser(db, 'vera', ['visiting-staff'], {
    schools: ['heath-lane'],
    staffId: 'hl-staff-017',
    phone: '+447700900124',
  });
  wes = await addUser(db, 'wes', ['visiting-staff'], { schools: ['heath-lane'], phone: '+447700900125' });
  // Trained, and Wes has made a home visit before: the competence rules are not what this is about.
  await db.query(`UPDATE users SET home_visit_trained_on = '2026-09-01'`);
  await db.query(
    `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, lead_user_id, requested_by, departed_at, returned_at)
     VALUES ('heath-lane', '9002', 'earlier', '{"line1":"1 Road","postcode":"EX1 1AA"}', '2026-10-01', 'returned', $1, $1, '2026-10-01T10:00:00Z', '2026-10-01T11:00:00Z')`,
    [wes.id],
  );
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

describe('Heath Lane in the example configuration: the family is texted before the visit', () => {
  it('has no SMS channel there, and the policy asks for a text and nothing else', () => {
    const school = config.schools.find((s) => s.id === 'heath-lane')!;
    expect(school.channels.sms).toBeUndefined();
    expect(deps.rulesFor('heath-lane').familyNotice).toMatchObject({ expect: 'required', methods: ['sms'] });
  });

  it('records a text sent by staff from a school phone, and the visit leaves', async () => {
    const id = await requestVisit(deps, office, {
      schoolId: 'heath-lane',
      pupilMisId: '9002',
      reason: 'absent four days',
    });
    await assessRisk(deps, dsl, id, { level: 'low', reason: 'no concerns known' });
    const leave = () =>
      departVisit(deps, office, id, {
        leadUserId: vera.id,
        partnerUserId: wes.id,
        expectedReturnAt: new Date(now.getTime() + 3_600_000),
        risksRead: true,
        identification: true, // "have academy ID visible"
      });
    expect((await refusal(leave())).message).toBe(
      'cannot leave yet: the family must be told of the visit first (sms)',
    );

    // Doorstep cannot send it here: the refusal says what to do instead.
    const noChannel = await refusal(tellFamily(deps, office, id, { method: 'sms' }));
    expect(noChannel.code).toBe('DOORSTEP_POLICY');
    expect(noChannel.message).toMatch(/no SMS channel.*text the family from a school phone/);
    // Not a text: the policy's way is kept.
    expect((await refusal(tellFamily(deps, office, id, { method: 'phone' }))).code).toBe(
      'DOORSTEP_BAD_REQUEST',
    );
    expect(
      (await refusal(tellFamily(deps, office, id, { method: 'phone', sentBy: 'staff' }))).message,
    ).toMatch(/^sentBy: only a text/);

    await tellFamily(deps, office, id, { method: 'sms', sentBy: 'staff', note: 'texted mum at 09:40' });
    expect((await getVisit(db, id))!.familyNotice).toMatchObject({
      method: 'sms',
      sentBy: 'staff',
      noticeId: null,
      note: 'texted mum at 09:40',
      by: office.id,
    });
    const { rows: notices } = await db.query(`SELECT 1 FROM notices WHERE visit_id = $1`, [id]);
    expect(notices).toHaveLength(0); // nothing queued for a channel that does not exist
    const { rows: audit } = await db.query<{ after: Record<string, unknown> }>(
      `SELECT after FROM audit_log WHERE action = 'visit.family-told' AND entity_id = $1`,
      [id],
    );
    expect(audit[0]!.after).toMatchObject({ method: 'sms', sentBy: 'staff' });

    await leave();
    expect((await getVisit(db, id))!.status).toBe('departed');
  });
});
