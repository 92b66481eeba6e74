import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRules } from '../../../src/domain/visits/rules.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * King's exempts "persistent absenteeism or children missing in education" from telling the family
 * first. Which exemption applies, and why — the open trigger's title, the pupil off roll to nobody
 * knows where — is the pupil's details: visiting staff they are withheld from (`seesPupilDetails`)
 * are told only whether the policy's exemption applies, on the visit page, in the refusal of one
 * that does not, and in the departure check of one that no longer does.
 */

const schema = uniqueName('exwithheld');
const config = visitSchoolsConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const now = new Date('2026-11-23T09:00:00Z');
const users: Record<string, User> = {};
const as = new Map<string, { cookie: string; csrf: string }>();
/** Words that name what the pupil's records show. */
const DETAILS =
  /persistent|severe|missing education|no known destination|off roll|trigger|statutory:|left the roll/i;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  await addPupils(db, ['gomer']);
  for (const [name, roles] of [
    ['sam', ['visiting-staff']],
    ['office', ['office']],
  ] as const) {
    users[name] = await addUser(db, `gomer.${name}`, [...roles], { schools: ['gomer'] });
    as.set(name, await sessionFor(db, users[name]!));
  }
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: object) => {
  const s = as.get(who)!;
  return app.inject({
    method,
    url,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    ...(payload ? { payload } : {}),
  });
};

async function pupil(misId: string, extra = ''): Promise<void> {
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, forename, surname, address${extra ? ', left_on, left_to_unknown' : ''})
     SELECT school_id, $1, 'Zara', 'Quinn', address${extra} FROM pupils WHERE school_id = 'gomer' AND mis_id = 'P1'`,
    [misId],
  );
}

async function openTrigger(misId: string, rule: string, title: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
     VALUES ('gomer', $1, $2, $3, 'home-visit', 'welfare-staff', 'open', '2026-11-20', 'missed many sessions',
             '{"from": "2026-09-01", "to": "2026-11-20"}'::jsonb)
     RETURNING id::text`,
    [misId, rule, title],
  );
  return rows[0]!.id;
}

const visitFor = async (who: string, body: object): Promise<string> => {
  const res = await call(who, 'POST', '/api/visits', {
    school: 'gomer',
    plannedFor: '2026-11-23',
    riskLevel: 'low',
    ...body,
  });
  expect(res.statusCode, res.body).toBe(201);
  // The answer to asking is the visit's id, nothing of what fired.
  expect(Object.keys(res.json())).toEqual(['id']);
  return res.json().id as string;
};

const page = async (who: string, id: string) => {
  const res = await call(who, 'GET', `/api/visits/${id}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

describe("the family-notice exemption, to those the pupil's details are withheld from", () => {
  it('the visit page says one applies, not which nor the trigger that fired; the office sees both', async () => {
    const title = 'Persistent absence (missing 10% or more of sessions this year)';
    const trigger = await openTrigger('P1', 'statutory:persistent-absence', title);
    const id = await visitFor('office', { triggerEpisodeId: trigger });
    const seen = await page('sam', id);
    expect(seen.pupilDetailsWithheld).toBe(true);
    expect(seen.trigger).toBeNull();
    expect(seen.visit.reason).toBe('Attendance concern (details withheld)');
    expect(seen.familyExemptions).toEqual([
      {
        id: 'allowed-by-policy',
        applies: true,
        why: "the school's policy says the family need not be told first for this visit; why is shown to those who see the pupil's details",
      },
    ]);
    expect(JSON.stringify(seen)).not.toContain('Persistent absence');
    expect(JSON.stringify(seen.familyExemptions)).not.toMatch(DETAILS);

    const office = await page('office', id);
    expect(office.pupilDetailsWithheld).toBe(false);
    expect(office.familyExemptions).toContainEqual({
      id: 'persistent-absence',
      applies: true,
      why: `open trigger: ${title}`,
    });

    // Sent back as it was offered, it records the exemption that applies; the page then names it
    // to the office and says only "allowed by policy" to visiting staff.
    const told = await call('sam', 'POST', `/api/visits/${id}/family-notice`, {
      exemption: 'allowed-by-policy',
    });
    expect(told.statusCode, told.body).toBe(200);
    const { rows } = await db.query<{ exemption: string }>(
      `SELECT family_notice->>'exemption' AS exemption FROM visits WHERE id = $1`,
      [id],
    );
    expect(rows[0]!.exemption).toBe('persistent-absence');
    expect((await page('sam', id)).visit.familyNotice.exemption).toBe('allowed-by-policy');
    expect((await page('office', id)).visit.familyNotice.exemption).toBe('persistent-absence');

    // The trigger closes before leaving: visiting staff are told the exemption no longer applies, not why.
    await db.query(`UPDATE trigger_episodes SET status = 'closed' WHERE id = $1`, [trigger]);
    const lapsed = (await page('sam', id)).findings.find((f: { rule: string }) => f.rule === 'family-notice');
    expect(lapsed.message).toBe(
      "the exemption recorded (allowed by policy) no longer applies: why is shown to those who see the pupil's details; tell the family first (letter, phone, sms, in-person)",
    );
    const officeLapsed = (await page('office', id)).findings.find(
      (f: { rule: string }) => f.rule === 'family-notice',
    );
    expect(officeLapsed.message).toMatch(
      /\(persistent absence\) no longer applies: the pupil has no open trigger/,
    );
  });

  it('nor that the pupil is off roll to no known destination (a child missing education)', async () => {
    await pupil('P7', ", '2026-11-10', true");
    const id = await visitFor('office', { pupilMisId: 'P7', reason: 'Welfare check' });
    const seen = await page('sam', id);
    expect(seen.pupilDetailsWithheld).toBe(true);
    expect(seen.familyExemptions.map((x: { id: string }) => x.id)).toEqual(['allowed-by-policy']);
    expect(JSON.stringify(seen)).not.toMatch(/missing education|no known destination|2026-11-10/);
    expect(JSON.stringify((await page('office', id)).familyExemptions)).toMatch(/no known destination/);
  });

  it('an exemption that does not apply is refused without the roll or the triggers, and none is offered', async () => {
    await pupil('P9');
    const id = await visitFor('office', { pupilMisId: 'P9', reason: 'Welfare check' });
    const seen = await page('sam', id);
    expect(seen.familyExemptions).toEqual([]);
    const res = await call('sam', 'POST', `/api/visits/${id}/family-notice`, {
      exemption: 'allowed-by-policy',
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().message).toMatch(
      /why is shown to those who see the pupil's details; tell the family first$/,
    );
    expect(res.json().message).not.toMatch(DETAILS);
    // The office is told why.
    const office = await call('office', 'POST', `/api/visits/${id}/family-notice`, {
      exemption: 'missing-education',
    });
    expect(office.json().message).toMatch(/no open trigger for it/);
  });

  it("naming the policy's own exemptions one by one tells them nothing: only the stand-in is taken from them", async () => {
    // Off roll to nowhere known: missing-education applies, persistent-absence does not. Each answer
    // alike — had one been taken and the other refused, the answers would say which applies.
    await pupil('P10', ", '2026-11-10', true");
    const id = await visitFor('office', { pupilMisId: 'P10', reason: 'Welfare check' });
    const answers = [];
    for (const exemption of ['persistent-absence', 'missing-education']) {
      const res = await call('sam', 'POST', `/api/visits/${id}/family-notice`, { exemption });
      answers.push({ status: res.statusCode, body: res.json() });
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toEqual({
      status: 400,
      body: {
        code: 'DOORSTEP_BAD_REQUEST',
        message:
          "exemption: expected allowed-by-policy (which of the school's exemptions applies is shown to those who see the pupil's details)",
      },
    });
    // Nothing recorded by either; the stand-in records the one that applies.
    expect((await page('office', id)).visit.familyNotice).toBeNull();
    const taken = await call('sam', 'POST', `/api/visits/${id}/family-notice`, {
      exemption: 'allowed-by-policy',
    });
    expect(taken.statusCode, taken.body).toBe(200);
    expect((await page('office', id)).visit.familyNotice.exemption).toBe('missing-education');
  });

  it("a note changed through 'Change' by one the details are withheld from keeps the exemption the office recorded", async () => {
    // Both of King's exemptions apply; the office recorded the second.
    await pupil('P20', ", '2026-11-10', true");
    await openTrigger('P20', 'statutory:persistent-absence', 'Persistent absence');
    const id = await visitFor('office', { pupilMisId: 'P20', reason: 'Welfare check' });
    const first = await call('office', 'POST', `/api/visits/${id}/family-notice`, {
      exemption: 'missing-education',
    });
    expect(first.statusCode, first.body).toBe(200);
    const told = (await page('sam', id)).visit.familyNotice;
    expect(told.exemption).toBe('allowed-by-policy');
    const res = await call('sam', 'POST', `/api/visits/${id}/family-notice`, {
      exemption: told.exemption,
      note: 'mum not answering',
      replaces: told.at,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((await page('office', id)).visit.familyNotice).toMatchObject({
      exemption: 'missing-education',
      note: 'mum not answering',
    });
  });

  it('visiting staff asking for a visit from a trigger of their school are not told what fired', async () => {
    await pupil('P8');
    const trigger = await openTrigger(
      'P8',
      'statutory:severe-absence',
      'Severe absence (missing 50% or more of sessions this year)',
    );
    const id = await visitFor('sam', { triggerEpisodeId: trigger });
    const seen = await page('sam', id);
    expect(seen.visit.reason).toBe('Attendance concern (details withheld)');
    expect(seen.pupilDetailsWithheld).toBe(true);
    expect(seen.trigger).toBeNull();
    expect(JSON.stringify(seen)).not.toContain('Severe absence');
    expect(JSON.stringify(seen.familyExemptions)).not.toMatch(DETAILS);
  });
});

it("no policy's exemption may be named what visiting staff are told in place of one", () => {
  const r = visitRules.shape.familyNotice.safeParse({
    expect: 'required',
    methods: ['letter'],
    exemptions: ['allowed-by-policy'],
  });
  expect(r.success).toBe(false);
  expect(JSON.stringify(r.error?.issues)).toMatch(/name the exemption otherwise/);
});
