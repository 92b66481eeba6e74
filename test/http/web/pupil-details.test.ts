import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * Found by review: visiting staff read any pupil's safeguarding flags, the welfare concern's reason,
 * the UPN and the family's phone numbers — by asking for a visit for the pupil and opening it, or
 * opening any visit nobody leads yet — and a two-letter pupil search gave them every matching
 * pupil's home address and family. Now the lead and partner see those once the visit is cleared to
 * go (authorised, assessed or out); the search gives visiting staff names and whether the MIS has an
 * address.
 */
const schema = uniqueName('pupdet');
const config = visitSchoolsConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const now = new Date('2026-11-23T09:00:00Z');
const users: Record<string, User> = {};
const as = new Map<string, { cookie: string; csrf: string }>();

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  await addPupils(db, ['lime']);
  await db.query(
    `UPDATE pupils SET flags = '{"cpPlan": true}'::jsonb,
       manual_flags = '{"welfareConcern": {"reason": "bruising seen on Monday", "by": "user:1", "at": "2026-11-20T09:00:00Z"}}'::jsonb
     WHERE school_id = 'lime' AND mis_id = 'P1'`,
  );
  await db.query(
    `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, parental_responsibility)
     VALUES ('lime', 'P1', 1, 'Ngozi Okonkwo', 'MOTHER', '+447700900123', true)`,
  );
  for (const [name, roles] of [
    ['sam', ['visiting-staff']],
    ['kim', ['visiting-staff']],
    ['office', ['office']],
    ['dsl', ['safeguarding']],
  ] as const) {
    users[name] = await addUser(db, `lime.${name}`, [...roles], { schools: ['lime'] });
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
const ask = async (who: string) => {
  const res = await call(who, 'POST', '/api/visits', {
    school: 'lime',
    pupilMisId: 'P1',
    reason: 'Absent five days',
    plannedFor: '2026-11-23',
    riskLevel: 'low',
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
};
const view = async (who: string, id: string) => {
  const res = await call(who, 'GET', `/api/visits/${id}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

const NAMES_ONLY = { mis_id: 'P1', forename: 'Amelia', surname: 'Okonkwo', year_group: null };

describe('the pupil search', () => {
  it('gives visiting staff names and whether there is an address; the office the address and family', async () => {
    const staff = (await call('sam', 'GET', '/api/pupils?school=lime&q=ok')).json().pupils;
    expect(staff).toEqual([{ ...NAMES_ONLY, hasAddress: true }]);
    const office = (await call('office', 'GET', '/api/pupils?school=lime&q=ok')).json().pupils;
    expect(office[0].address.postcode).toBe('LS6 2QT');
    expect(office[0].contacts).toEqual([
      { name: 'Ngozi Okonkwo', relationship: 'MOTHER', parentalResponsibility: true },
    ]);
  });
});

describe("a visit's pupil details", () => {
  it('are withheld from visiting staff who asked for it until it is authorised, then shown to its lead', async () => {
    const id = await ask('kim');
    const before = await view('kim', id);
    expect(before.pupil).toEqual(NAMES_ONLY);
    expect(before.contacts).toEqual([]);
    expect(before.pupilDetailsWithheld).toBe(true);
    expect(JSON.stringify(before)).not.toMatch(/bruising|A123456789012|\+447700900123|cpPlan/);
    // The visit's own address stays: it is what planning the visit needs.
    expect(before.visit.address.postcode).toBe('LS6 2QT');

    // The office sees it all.
    const office = await view('office', id);
    expect(office.pupil.upn).toBe('A123456789012');
    expect(office.pupilDetailsWithheld).toBe(false);

    const auth = await call('dsl', 'POST', `/api/visits/${id}/authorise`, {
      risk: { level: 'low', reason: 'known family, no concerns at the door' },
    });
    expect(auth.statusCode, auth.body).toBe(200);
    const after = await view('kim', id);
    expect(after.pupilDetailsWithheld).toBe(false);
    expect(after.pupil.upn).toBe('A123456789012');
    expect(after.pupil.flags).toEqual({ cpPlan: true });
    expect(after.pupil.manualFlags.welfareConcern.reason).toBe('bruising seen on Monday');
    expect(after.contacts[0].phone).toBe('+447700900123');
  });

  it('are withheld from visiting staff on a visit nobody leads yet, authorised or not', async () => {
    const id = await ask('office');
    const unled = await view('sam', id);
    expect(unled.visit.leadUserId).toBeNull();
    expect(unled.pupil).toEqual(NAMES_ONLY);
    expect(unled.contacts).toEqual([]);
    expect(unled.pupilDetailsWithheld).toBe(true);
  });

  it('never tell visiting staff, through the trigger the visit was asked for from, what the withheld flags say', async () => {
    // Heath Lane's "Absence of a vulnerable pupil" fires only for cpPlan, cin, lac or a welfare concern.
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('lime', 'P1', 'heath-lane:vulnerable-absent', 'Absence of a vulnerable pupil', 'home-visit', 'welfare-staff',
               'open', '2026-11-23', 'absent 1 day in a row (2026-11-23); a reason each day, but there is a safeguarding concern',
               '{"from": "2026-11-23", "to": "2026-11-23"}'::jsonb)
       RETURNING id::text`,
    );
    const res = await call('office', 'POST', '/api/visits', {
      school: 'lime',
      triggerEpisodeId: rows[0]!.id,
      reason: 'welfare check',
      plannedFor: '2026-11-23',
      riskLevel: 'low',
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    const seen = await view('sam', id);
    expect(seen.pupilDetailsWithheld).toBe(true);
    expect(seen.trigger).toBeNull();
    expect(JSON.stringify(seen)).not.toMatch(/vulnerable|safeguarding concern/);
    // The office, who authorises it, sees what fired and why.
    expect((await view('office', id)).trigger).toMatchObject({ title: 'Absence of a vulnerable pupil' });
  });

  it('never tell visiting staff, through a reason taken from the trigger, what the withheld flags say', async () => {
    const episode = async (pupil: string) =>
      (
        await db.query<{ id: string }>(
          `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
           VALUES ('lime', $1, 'heath-lane:vulnerable-absent-by-reason', 'Absence of a vulnerable pupil', 'home-visit', 'welfare-staff',
                   'open', '2026-11-23', 'absent 1 day in a row (2026-11-23); a reason each day, but there is a safeguarding concern',
                   '{"from": "2026-11-23", "to": "2026-11-23"}'::jsonb)
           RETURNING id::text`,
          [pupil],
        )
      ).rows[0]!.id;
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, address)
       SELECT school_id, 'P9', 'Zara', 'Quinn', address FROM pupils WHERE school_id = 'lime' AND mis_id = 'P1'`,
    );
    const requested = async (pupil: string, reason?: string) => {
      const res = await call('office', 'POST', '/api/visits', {
        school: 'lime',
        triggerEpisodeId: await episode(pupil),
        ...(reason ? { reason } : {}),
        plannedFor: '2026-11-23',
        riskLevel: 'low',
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().id as string;
    };
    // Asked for from the trigger with no reason (the request's default), and with the board form's
    // pre-filled title added to.
    const plain = await requested('P1');
    const added = await requested('P9', 'Absence of a vulnerable pupil - ring mum first');
    for (const id of [plain, added]) {
      const seen = await view('sam', id);
      expect(seen.pupilDetailsWithheld).toBe(true);
      expect(seen.visit.reason).toBe('Attendance concern (details withheld)');
      expect(JSON.stringify(seen)).not.toMatch(/vulnerable|safeguarding concern/i);
    }
    // Nor on the day's visits, where sam may take a visit nobody leads yet.
    const list = (await call('sam', 'GET', '/api/visits?school=lime&date=2026-11-23')).json().visits;
    const reasons = list
      .filter((v: { id: string }) => [plain, added].includes(v.id))
      .map((v: { reason: string }) => v.reason);
    expect(reasons).toEqual([
      'Attendance concern (details withheld)',
      'Attendance concern (details withheld)',
    ]);
    expect(JSON.stringify(list)).not.toMatch(/vulnerable/i);
    // Nor on the letter to the family, which they may print for a visit nobody leads yet.
    const letter = await call('sam', 'GET', `/visits/${plain}/letter`);
    expect(letter.statusCode, letter.body).toBe(200);
    expect(letter.body).toContain('The visit is about: <bdi>Attendance concern (details withheld)</bdi>.');
    expect(letter.body).not.toMatch(/vulnerable/i);
    // The office, and a reason typed by hand, are as recorded.
    expect((await view('office', plain)).visit.reason).toBe('Absence of a vulnerable pupil');
    const office = (await call('office', 'GET', '/api/visits?school=lime&date=2026-11-23')).json().visits;
    expect(office.find((v: { id: string }) => v.id === added).reason).toBe(
      'Absence of a vulnerable pupil - ring mum first',
    );
    expect(list.find((v: { reason: string }) => v.reason === 'Absent five days')).toBeDefined();
  });
});

describe('what was found at the door, and the visit’s own record', () => {
  /** Every field of `visit` the visit page reads (web/assets/visit.js and visit-*.js). */
  const pageReads = () => {
    const dir = join(import.meta.dirname, '../../../web/assets');
    const files = readdirSync(dir).filter((f) => /^visit(-.+)?\.js$/.test(f));
    const text = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    return [...new Set([...text.matchAll(/(?:\bv|d\.visit)\??\.([a-zA-Z]+)/g)].map((m) => m[1]!))].sort();
  };
  /** Of those, what only the people going and the office are given (VISIT_FIELDS `details`). */
  const GOING_ONLY = ['riskReason', 'workerPhone'];

  // Asked for by kim; sam went and recorded what was found at the door.
  const completed = async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO visits (school_id, pupil_mis_id, reason, address, planned_for, status, requested_by,
         authorised_by, authorised_at, authorisation_note, risk_level, risk_reason, risk_assessed_at, risk_assessed_by,
         lead_user_id, departed_at, returned_at, completed_at, worker_phone, vehicle, outcome)
       VALUES ('lime', 'P1', 'Absent five days', '{"line1": "14 Rosebank Terrace", "postcode": "LS6 2QT"}', '2026-11-23',
         'completed', $1, $2, '2026-11-23T08:00:00Z', 'only with the office told on arrival', 'minor',
         'dog in the house', '2026-11-23T08:00:00Z', $6, $3, '2026-11-23T08:10:00Z', '2026-11-23T08:50:00Z',
         '2026-11-23T08:55:00Z', '+447700900777', $4, $5)
       RETURNING id::text`,
      [
        users.kim!.id,
        users.dsl!.id,
        users.sam!.id,
        JSON.stringify({ make: 'Ford', model: 'Fiesta', registration: 'AB12 CDE', colour: 'blue' }),
        JSON.stringify({
          childSeen: true,
          noOneHome: false,
          spokeTo: 'mother',
          concerns: ['bruising on left forearm; mother says new partner is violent'],
          followUp: [{ action: 'refer to DSL', by: 'office', due: '2026-11-24' }],
          agreements: ['mother will ring the office each morning of an absence'],
        }),
        `user:${users.dsl!.id}`,
      ],
    );
    return rows[0]!.id;
  };

  it('are withheld from visiting staff who asked for the visit but did not go on it, and said to be', async () => {
    const id = await completed();
    const asked = await view('kim', id);
    expect(asked.pupilDetailsWithheld).toBe(true);
    expect(JSON.stringify(asked)).not.toMatch(
      /bruising|violent|mother'|refer to DSL|dog in the house|office told on arrival|\+447700900777|AB12 CDE/,
    );
    // What they may know of the outcome stays, with word that the rest is withheld (not "none").
    expect(asked.visit.outcome).toEqual({
      childSeen: true,
      noOneHome: false,
      agreements: ['mother will ring the office each morning of an absence'],
      detailsWithheld: true,
    });
    for (const k of ['riskReason', 'authorisationNote', 'workerPhone', 'vehicle', 'safeWord', 'fobDeviceId'])
      expect(asked.visit, k).not.toHaveProperty(k);

    // The lead who went, and the office, see the visit's record whole (the safe word as recorded or not).
    for (const who of ['sam', 'office', 'dsl']) {
      const seen = await view(who, id);
      expect(seen.pupilDetailsWithheld, who).toBe(false);
      expect(seen.visit.outcome, who).toMatchObject({
        spokeTo: 'mother',
        concerns: ['bruising on left forearm; mother says new partner is violent'],
        followUp: [{ action: 'refer to DSL', by: 'office', due: '2026-11-24' }],
      });
      expect(seen.visit.outcome.detailsWithheld, who).toBeUndefined();
      expect(seen.visit, who).toMatchObject({
        riskReason: 'dog in the house',
        authorisationNote: 'only with the office told on arrival',
        workerPhone: '+447700900777',
        vehicle: { registration: 'AB12 CDE' },
        safeWord: null,
      });
    }
  });

  it('still gives the visit page every field it reads: all of them to the office, all but the going ones to who asked', async () => {
    const id = await completed();
    const reads = pageReads();
    expect(reads).toContain('outcome');
    expect(reads).toContain('workerPhone');
    const office = Object.keys((await view('office', id)).visit);
    expect(reads.filter((k) => !office.includes(k))).toEqual([]);
    const asked = Object.keys((await view('kim', id)).visit);
    expect(reads.filter((k) => !asked.includes(k))).toEqual(GOING_ONLY);
  });
});
