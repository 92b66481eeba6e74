import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * Hostile input to the visit register's routes (20-digit ids, impossible dates, arrays for objects,
 * years 0000 and 9999, NUL bytes in text): a clear 4xx naming the field, never a 500 with internals.
 * Written by a review that found none; kept so none comes back. A later review found the 4xx of
 * NUL bytes and impossible dates said only "a value in the request is not valid": each now names
 * its field and what was expected, checked at the input.
 */

const schema = uniqueName('visit_hostile');
const prefix = uniqueName('visit_hostile');
const config = loadConfigFile('config/doorstep.example.yaml', {});
const now = new Date('2026-11-23T10:00:00Z');
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const u: Record<string, User> = {};
let visitId = '';

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix, publisher: conn, now: () => now });
  u.office = await addUser(db, 'olive', ['office'], { schools: ['heath-lane'] });
  u.vera = await addUser(db, 'vera', ['visiting-staff'], { schools: ['heath-lane'], phone: '+447700900124' });
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, forename, surname, address) VALUES ('heath-lane', '9002', 'Kofi', 'Mensah', $1)`,
    [JSON.stringify({ line1: '7 Beck Side', town: 'Exampleton', postcode: 'EX1 2AB' })],
  );
  const r = await call('vera', 'POST', '/api/visits', {
    school: 'heath-lane',
    pupilMisId: '9002',
    reason: 'welfare',
    riskLevel: 'low',
  });
  visitId = (r.json() as { id: string }).id;
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

async function call(who: string, method: 'GET' | 'POST', url: string, payload?: unknown) {
  const s = await sessionFor(db, u[who]!);
  return app.inject({
    method,
    url,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
    ...(method === 'POST'
      ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload ?? {}) }
      : {}),
  });
}

const big = '99999999999999999999';
describe('hostile input to the visit routes', () => {
  /** What is sent, and the field its 400 names ("field: expected …"); null: any 4xx. */
  const cases: [string, 'GET' | 'POST', () => string, unknown, string | null][] = [
    ['huge id (GET)', 'GET', () => `/api/visits/${big}`, undefined, 'id'],
    ['huge id (check-in)', 'POST', () => `/api/visits/${big}/check-in`, {}, 'id'],
    ['bad day in list', 'GET', () => '/api/visits?school=heath-lane&date=2026-02-31', undefined, 'date'],
    [
      '30 November has no 31st',
      'GET',
      () => '/api/visits?school=heath-lane&date=2026-11-31',
      undefined,
      'date',
    ],
    [
      'bad planned day',
      'POST',
      () => '/api/visits',
      { school: 'heath-lane', pupilMisId: '9002', reason: 'x', plannedFor: '2026-12-32' },
      'plannedFor',
    ],
    [
      'impossible planned day',
      'POST',
      () => '/api/visits',
      { school: 'heath-lane', pupilMisId: '9002', reason: 'x', plannedFor: '2026-11-31' },
      'plannedFor',
    ],
    [
      'huge trigger id',
      'POST',
      () => '/api/visits',
      { school: 'heath-lane', triggerEpisodeId: big },
      'triggerEpisodeId',
    ],
    [
      'sign-list huge id',
      'POST',
      () => '/api/visits/sign-list',
      { school: 'heath-lane', date: '2026-11-23', visits: [{ id: big, version: '1' }] },
      'visits.0.id',
    ],
    [
      'sign-list impossible day',
      'POST',
      () => '/api/visits/sign-list',
      { school: 'heath-lane', date: '2026-11-31', visits: [{ id: '1', version: '1' }] },
      'date',
    ],
    ['bad JSON', 'POST', () => `/api/visits/${visitId}/cancel`, '{"reason":', null],
    ['array body', 'POST', () => `/api/visits/${visitId}/cancel`, ['x'], null],
    ['move to a bad day', 'POST', () => `/api/visits/${visitId}/date`, { date: '2026-02-30' }, 'date'],
    [
      'depart, year 0000',
      'POST',
      () => `/api/visits/${visitId}/depart`,
      { risksRead: true, expectedReturnAt: '0000-01-01T00:00:00Z' },
      null,
    ],
    [
      'depart check, year 9999',
      'POST',
      () => `/api/visits/${visitId}/departure-check`,
      { expectedReturnAt: '9999-12-31T23:59:59Z', estimatedArrivalAt: '0000-01-01T00:00:00Z' },
      null,
    ],
    [
      'depart with a huge partner id',
      'POST',
      () => `/api/visits/${visitId}/depart`,
      { risksRead: true, expectedReturnAt: '2026-11-23T11:00:00Z', partnerUserId: big },
      'partnerUserId',
    ],
    ['NUL in reason', 'POST', () => `/api/visits/${visitId}/cancel`, { reason: 'a\u0000b' }, 'reason'],
    [
      'NUL in request',
      'POST',
      () => '/api/visits',
      { school: 'heath-lane', pupilMisId: '9002', reason: 'x\u0000y' },
      'reason',
    ],
    [
      'NUL in the address',
      'POST',
      () => '/api/visits',
      {
        school: 'heath-lane',
        pupilMisId: '9002',
        reason: 'x',
        address: { line1: 'a\u0000b', postcode: 'EX1 2AB' },
      },
      'address.line1',
    ],
    [
      'NUL in a new address',
      'POST',
      () => `/api/visits/${visitId}/appointment`,
      { time: '10:00', address: { line1: 'a\u0000b', postcode: 'EX1 2AB' } },
      'address.line1',
    ],
    [
      'NUL in why running late',
      'POST',
      () => `/api/visits/${visitId}/running-late`,
      { expectedReturnAt: '2026-11-23T11:00:00Z', reason: 'a\u0000b\u0007c\u202Ed' },
      'reason',
    ],
    [
      'NUL in a concern',
      'POST',
      () => `/api/visits/${visitId}/concern`,
      { concern: 'a\u0000b', sendId: 'abcdefgh' },
      'concern',
    ],
    [
      'NUL in who they spoke to',
      'POST',
      () => `/api/visits/${visitId}/outcome`,
      { childSeen: true, noOneHome: false, spokeTo: 'a\u0000b' },
      'spokeTo',
    ],
    [
      'NUL in an agreement',
      'POST',
      () => `/api/visits/${visitId}/outcome`,
      { childSeen: true, noOneHome: false, agreements: ['fine', 'a\u0000b'] },
      'agreements.1',
    ],
  ];
  for (const [name, method, url, body, field] of cases)
    it(`${name}: ${field ? `a 400 naming ${field}` : 'a 4xx'}, not a 500`, async () => {
      const r = await call('vera', method, url(), body);
      expect(r.statusCode, `${r.statusCode} ${r.body}`).toBeLessThan(500);
      if (field === null) return;
      // Found by review: NUL bytes and impossible dates reached PostgreSQL, whose refusal could only
      // say "a value in the request is not valid" — not which field, nor what was expected.
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().message).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}: expected `));
    });
});
