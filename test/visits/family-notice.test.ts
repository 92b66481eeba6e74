import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { sendNotice } from '../../jobs/send-notice.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { markLeavers } from '../../src/store/attendance.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { departVisit } from '../../src/visits/departure.ts';
import { tellFamily } from '../../src/visits/family-notice.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { changeVisitDate } from '../../src/visits/reschedule.ts';
import { startFakeChannels } from '../helpers/fake-channels.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Telling the family before a visit, as each pack words it: required (blocks leaving) or where
 * possible (a warning), by the policy's ways only, or an exemption it names; a text goes through the
 * school's SMS channel to the pupil's first contact with a phone.
 */
const schema = uniqueName('family');
const prefix = uniqueName('family');
let fakes: Awaited<ReturnType<typeof startFakeChannels>>;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let deps: VisitDeps;
let jobs: JobDeps;
let staff: User;
let partner: User;
let office: User;
const now = new Date('2026-11-23T10:00:00Z');
const back = () => new Date(now.getTime() + 3_600_000);
const arriving = () => new Date(now.getTime() + 20 * 60_000);
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: { code: string; message: string }) => e,
  );

beforeAll(async () => {
  fakes = await startFakeChannels();
  const port = new URL(fakes.url).port;
  const config = visitSchoolsConfig(
    `    channels:
      sms: { baseUrl: "http://127.0.0.1:${port}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
`,
    { SMS_TOKEN: 'tok' },
  );
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = {
    db,
    config,
    rulesFor: visitRulesLookup(config),
    prefix,
    now: () => now,
    producer,
    publisher: conn,
  };
  jobs = {
    db,
    log: createLogger({ level: 'silent' }),
    producer,
    now: () => now,
    instance: 't',
    config,
    publisher: conn,
  };
  await addPupils(db, ['gomer', 'lime']);
  await db.query(
    `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, parental_responsibility)
     VALUES ('gomer', 'P1', 1, 'No Phone', 'father', NULL, true), ('gomer', 'P1', 2, 'Gran', 'grandmother', '+447700900666', false),
            ('gomer', 'P1', 3, 'Mum', 'mother', '+447700900555', true)`,
  );
  staff = await addUser(db, 'dsl', ['visiting-staff', 'safeguarding'], {
    positions: ['dsl'],
    phone: '+447700900111',
  });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office']);
  await db.query(
    `UPDATE users SET home_visit_trained_on = '2026-01-01', safeguarding_trained_on = '2026-01-01'`,
  );
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
  fakes.close();
});

async function authorisedVisit(school: string): Promise<string> {
  const id = await requestVisit(deps, office, { schoolId: school, pupilMisId: 'P1', reason: 'attendance' });
  await db.query(`UPDATE visits SET status = 'authorised', risk_assessed_at = $2 WHERE id = $1`, [id, now]);
  return id;
}

describe('telling the family (King’s: required, with exemptions)', () => {
  it('a visit moved Mon → Tue → Mon is texted about Monday again: the family was last told Tuesday', async () => {
    const id = await authorisedVisit('gomer');
    const at = (s: number) => ({ ...deps, now: () => new Date(now.getTime() + s * 1000) });
    const sent = () =>
      db.query(
        `UPDATE notices SET status = 'sent', sent_at = now() WHERE kind = 'family' AND visit_id = $1`,
        [id],
      );
    const texts = async () =>
      (
        await db.query<{ text: string }>(
          `SELECT text FROM notices WHERE kind = 'family' AND visit_id = $1 ORDER BY id`,
          [id],
        )
      ).rows.map((r) => r.text);
    await tellFamily(at(1), staff, id, { method: 'sms' }); // "home visit on Monday 23 November"
    await sent();
    await changeVisitDate(at(2), staff, id, '2026-11-24');
    await db.query(`UPDATE visits SET status = 'authorised', risk_assessed_at = $2 WHERE id = $1`, [id, now]);
    await tellFamily(at(3), staff, id, { method: 'sms' }); // "… on Tuesday 24 November"
    await sent();
    await changeVisitDate(at(4), staff, id, '2026-11-23');
    expect((await texts()).at(-1)).toMatch(/Tuesday 24 November/); // what the family last heard
    await tellFamily(at(5), staff, id, { method: 'sms' });
    expect((await texts()).at(-1)).toMatch(/Monday 23 November/);
  });

  it('blocks leaving until the family is told, then texts the first contact with a phone through the school’s SMS', async () => {
    const id = await authorisedVisit('gomer');
    const blocked = await refusal(
      departVisit(deps, staff, id, {
        expectedReturnAt: back(),
        risksRead: true,
        identification: true,
        partnerUserId: partner.id,
      }),
    );
    expect(blocked.message).toMatch(
      /the family must be told of the visit first \(letter, phone, sms, in-person\)/,
    );

    const wrong = await refusal(tellFamily(deps, staff, id, { method: 'written-confirmation' }));
    expect(wrong).toMatchObject({ code: 'DOORSTEP_BAD_REQUEST' });
    expect(wrong.message).toBe("method: expected one of letter, phone, sms, in-person (the school's policy)");
    expect((await refusal(tellFamily(deps, staff, id, {}))).code).toBe('DOORSTEP_BAD_REQUEST');
    // Doorstep can send it here: a text only said to have been sent from a school phone is refused.
    const byStaff = await refusal(tellFamily(deps, staff, id, { method: 'sms', sentBy: 'staff' }));
    expect(byStaff).toMatchObject({ code: 'DOORSTEP_POLICY' });
    expect(byStaff.message).toMatch(/^sentBy: the school sends the family text through Doorstep/);

    await tellFamily(deps, staff, id, { method: 'sms' });
    const { rows } = await db.query<{ id: string; target: string; text: string }>(
      `SELECT id, target, text FROM notices WHERE kind = 'family' AND visit_id = $1`,
      [id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.text).toBe(
      "King's Academy Gomer: a member of staff will make a home visit on Monday 23 November. If this is not convenient please call 01632 960123.",
    );
    expect(
      (
        await sendNotice(
          { noticeId: String(rows[0]!.id) },
          { id: 'x', name: 'send-notice', attempt: 1, maxAttempts: 6, signal: new AbortController().signal },
          jobs,
        )
      ).status,
    ).toBe('sent');
    expect(fakes.sms.map((m) => m.get('To'))).toEqual(['+447700900555']); // one text: the first contact with a phone and parental responsibility
    // Pressed again (a double tap, or anyone on the visit list, again and again): refused, no second
    // text. One that failed may be sent again.
    const again = await refusal(tellFamily(deps, staff, id, { method: 'sms' }));
    expect(again).toMatchObject({ code: 'DOORSTEP_CONFLICT' });
    expect(again.message).toMatch(/^the family was already texted about this visit \(.* UTC, sent\)/);
    // Another way of telling recorded in between (a letter, a call) clears nothing: the text of the
    // day is read from the texts themselves.
    for (let i = 1; i <= 3; i++) {
      const at = { ...deps, now: () => new Date(now.getTime() + i * 1000) };
      await tellFamily(at, staff, id, { method: 'phone' });
      const refused = await refusal(tellFamily(at, staff, id, { method: 'sms' }));
      expect(refused.message).toMatch(/^the family was already texted about this visit/);
    }
    expect(
      (await db.query(`SELECT id FROM notices WHERE kind = 'family' AND visit_id = $1`, [id])).rows,
    ).toHaveLength(1);
    await db.query(`UPDATE notices SET status = 'failed' WHERE id = $1`, [rows[0]!.id]);
    const later = { ...deps, now: () => new Date(now.getTime() + 60_000) };
    await tellFamily(later, staff, id, { method: 'sms' });
    const texts = async () =>
      (await db.query(`SELECT id FROM notices WHERE kind = 'family' AND visit_id = $1`, [id])).rows;
    expect(await texts()).toHaveLength(2);
    // Moved to another day and back: the notice is cleared, and the family is texted again — never
    // recorded as texted with no text on its way.
    await changeVisitDate(later, staff, id, '2026-11-24');
    await changeVisitDate(later, staff, id, '2026-11-23');
    await tellFamily({ ...deps, now: () => new Date(now.getTime() + 120_000) }, staff, id, { method: 'sms' });
    expect(await texts()).toHaveLength(3);
    expect((await getVisit(db, id))!.familyNotice).toMatchObject({
      sentBy: 'doorstep',
      noticeId: expect.any(String),
    });
    // (Moving the day sent it back for authorisation: authorised again for the rest of this test.)
    await db.query(`UPDATE visits SET status = 'authorised', risk_assessed_at = $2 WHERE id = $1`, [id, now]);

    await departVisit(deps, staff, id, {
      expectedReturnAt: back(),
      estimatedArrivalAt: arriving(), // King's: the office is told the estimated arrival
      risksRead: true,
      identification: true,
      partnerUserId: partner.id,
    });
    const { rows: audit } = await db.query<{ after: Record<string, unknown> }>(
      `SELECT after FROM audit_log WHERE action = 'visit.family-told' AND entity_id = $1`,
      [id],
    );
    expect(audit[0]!.after).toMatchObject({ method: 'sms', exemption: null });
  });

  it('accepts only the exemptions the policy names, each only for a pupil whose attendance shows it', async () => {
    const id = await authorisedVisit('gomer');
    const bad = await refusal(tellFamily(deps, staff, id, { exemption: 'too-busy' }));
    expect(bad.message).toBe(
      "exemption: expected one of persistent-absence, missing-education (the school's policy)",
    );
    // P1 is not persistently absent (no such trigger open), nor missing education: neither applies.
    const notShown = await refusal(tellFamily(deps, staff, id, { exemption: 'persistent-absence' }));
    expect(notShown).toMatchObject({ code: 'DOORSTEP_POLICY' });
    expect(notShown.message).toBe(
      "exemption: persistent absence does not apply to this visit's pupil: the pupil has no open trigger for it (statutory:persistent-absence or statutory:severe-absence); tell the family first",
    );
    // Another pupil's trigger, or a closed one, shows nothing about P1.
    await db.query(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('gomer', 'P2', 'statutory:persistent-absence', 'Persistent absence', 'attendance-meeting', 'attendance-officer', 'open', '2026-11-01', '', '{}'),
              ('gomer', 'P1', 'statutory:severe-absence', 'Severe absence', 'la-notification', 'attendance-officer', 'closed', '2026-10-01', '', '{}'),
              ('lime', 'P1', 'statutory:persistent-absence', 'Persistent absence', 'attendance-meeting', 'attendance-officer', 'open', '2026-11-01', '', '{}')`,
    );
    expect((await refusal(tellFamily(deps, staff, id, { exemption: 'persistent-absence' }))).code).toBe(
      'DOORSTEP_POLICY',
    );
    // Severe absence is persistent absence too: its open trigger shows it.
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('gomer', 'P1', 'statutory:severe-absence', 'Severe absence', 'la-notification', 'attendance-officer', 'open', '2026-11-10', '', '{}')
       RETURNING id`,
    );
    expect((await refusal(tellFamily(deps, staff, id, { exemption: 'missing-education' }))).message).toMatch(
      /statutory:continuous-unauthorised-10 or statutory:removal-from-roll-review-20/,
    );
    await tellFamily(deps, staff, id, { exemption: 'persistent-absence' });

    // The attendance improved and the trigger closed before leaving: the exemption no longer applies.
    await db.query(`UPDATE trigger_episodes SET status = 'closed' WHERE id = $1`, [rows[0]!.id]);
    const lapsed = await refusal(
      departVisit(deps, staff, id, {
        expectedReturnAt: back(),
        estimatedArrivalAt: arriving(),
        risksRead: true,
        identification: true,
        partnerUserId: partner.id,
      }),
    );
    expect(lapsed.message).toMatch(
      /the exemption recorded \(persistent absence\) no longer applies: the pupil has no open trigger for it/,
    );

    await db.query(`UPDATE trigger_episodes SET status = 'open' WHERE id = $1`, [rows[0]!.id]);
    await departVisit(deps, staff, id, {
      expectedReturnAt: back(),
      estimatedArrivalAt: arriving(), // King's: the office is told the estimated arrival
      risksRead: true,
      identification: true,
      partnerUserId: partner.id,
    });
  });

  it('an exemption recorded that the school’s policy no longer names does not let the visit leave', async () => {
    const id = await authorisedVisit('gomer');
    // Ten days' absence that has ended (the pupil back; the return still due): no child missing now.
    const ended = await db.query<{ id: string }>(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('gomer', 'P1', 'statutory:continuous-unauthorised-10', 'Ten days unauthorised', 'la-notification', 'attendance-officer', 'open', '2026-11-12', '', '{"ended": true}')
       RETURNING id`,
    );
    expect((await refusal(tellFamily(deps, staff, id, { exemption: 'missing-education' }))).code).toBe(
      'DOORSTEP_POLICY',
    );
    // Ten days' late arrivals (U): in school each day, so no child missing either.
    await db.query(
      `UPDATE trigger_episodes SET evidence = '{"seenInSchool": 10, "seenLast": true}' WHERE id = $1`,
      [ended.rows[0]!.id],
    );
    expect((await refusal(tellFamily(deps, staff, id, { exemption: 'missing-education' }))).code).toBe(
      'DOORSTEP_POLICY',
    );
    await db.query('DELETE FROM trigger_episodes WHERE id = $1', [ended.rows[0]!.id]);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('gomer', 'P1', 'statutory:continuous-unauthorised-10', 'Ten days unauthorised', 'la-notification', 'attendance-officer', 'open', '2026-11-12', '', '{}')
       RETURNING id`,
    );
    await tellFamily(deps, staff, id, { exemption: 'missing-education' });
    // The school's pack is changed after it was recorded: missing education is no longer an exemption.
    const rules = deps.rulesFor('gomer');
    const changed: VisitDeps = {
      ...deps,
      rulesFor: (s) =>
        s === 'gomer'
          ? {
              ...rules,
              familyNotice: {
                ...rules.familyNotice!,
                exemptions: rules.familyNotice!.exemptions.filter((x) => x.id !== 'missing-education'),
              },
            }
          : deps.rulesFor(s),
    };
    const refused = await refusal(
      departVisit(changed, staff, id, {
        expectedReturnAt: back(),
        estimatedArrivalAt: arriving(),
        risksRead: true,
        identification: true,
        partnerUserId: partner.id,
      }),
    );
    expect(refused).toMatchObject({ code: 'DOORSTEP_POLICY' });
    expect(refused.message).toMatch(
      /the exemption recorded \(missing education\) no longer applies: the school's policy no longer names it/,
    );
    await db.query(`UPDATE trigger_episodes SET status = 'closed' WHERE id = $1`, [rows[0]!.id]);
  });
});

describe('telling the family (King’s: missing education, off roll)', () => {
  it('a pupil taken off roll with no known destination is exempt with no trigger open; a destination given later ends it', async () => {
    // Attended, then taken off roll by the MIS with nobody knowing where to: no absence, no trigger.
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, upn, forename, surname, address) VALUES ('gomer', 'P9', 'Z123456789012', 'Noor', 'Haddad', $1)`,
      [JSON.stringify({ line1: '3 Mill Lane', town: 'Leeds', postcode: 'LS6 1AA' })],
    );
    await markLeavers(db, 'gomer', [
      { misId: 'P9', leftOn: '2026-11-14', destination: null, noDestination: 'unknown' },
    ]);
    const id = await requestVisit(deps, office, {
      schoolId: 'gomer',
      pupilMisId: 'P9',
      reason: 'attendance',
    });
    await db.query(`UPDATE visits SET status = 'authorised', risk_assessed_at = $2 WHERE id = $1`, [id, now]);
    await tellFamily(deps, staff, id, { exemption: 'missing-education' });
    expect((await getVisit(db, id))!.familyNotice).toMatchObject({
      method: null,
      exemption: 'missing-education',
    });
    // The MIS then names the school the pupil went to: found, so no longer a child missing education.
    await markLeavers(db, 'gomer', [{ misId: 'P9', leftOn: '2026-11-14', destination: 'Riverside Academy' }]);
    const lapsed = await refusal(
      departVisit(deps, staff, id, {
        expectedReturnAt: back(),
        estimatedArrivalAt: arriving(),
        risksRead: true,
        identification: true,
        partnerUserId: partner.id,
      }),
    );
    expect(lapsed.message).toMatch(
      /the exemption recorded \(missing education\) no longer applies: .*left the roll on 2026-11-14 for a known destination/,
    );
    // The MIS says again that nobody knows where: the exemption lets the visit leave.
    await markLeavers(db, 'gomer', [
      { misId: 'P9', leftOn: '2026-11-14', destination: null, noDestination: 'unknown' },
    ]);
    await departVisit(deps, staff, id, {
      expectedReturnAt: back(),
      estimatedArrivalAt: arriving(),
      risksRead: true,
      identification: true,
      partnerUserId: partner.id,
    });
    expect((await getVisit(db, id))!.status).toBe('departed');
  });
});

describe('telling the family (Lime Hills: where possible)', () => {
  it('warns but lets an urgent visit leave with nobody told', async () => {
    const id = await authorisedVisit('lime');
    await departVisit(deps, staff, id, {
      expectedReturnAt: back(),
      risksRead: true,
      identification: true,
      partnerUserId: partner.id,
      safeWord: 'oak',
    });
    const { rows } = await db.query<{ status: string }>('SELECT status FROM visits WHERE id = $1', [id]);
    expect(rows[0]!.status).toBe('departed');
  });
});
