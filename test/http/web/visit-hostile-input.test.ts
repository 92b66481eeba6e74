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
 * Written by a review that found none; kept so none comes back.
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
  const cases: [string, 'GET' | 'POST', () => string, unknown?][] = [
    ['huge id (GET)', 'GET', () => `/api/visits/${big}`],
    ['huge id (check-in)', 'POST', () => `/api/visits/${big}/check-in`, {}],
    ['bad day in list', 'GET', () => '/api/visits?school=heath-lane&date=2026-02-31'],
    [
      'bad planned day',
      'POST',
      () => '/api/visits',
      { school: 'heath-lane', pupilMisId: '9002', reason: 'x', plannedFor: '2026-12-32' },
    ],
    ['huge trigger id', 'POST', () => '/api/visits', { school: 'heath-lane', triggerEpisodeId: big }],
    [
      'sign-list huge id',
      'POST',
      () => '/api/visits/sign-list',
      { school: 'heath-lane', date: '2026-11-23', visits: [{ id: big, version: '1' }] },
    ],
    ['bad JSON', 'POST', () => `/api/visits/${visitId}/cancel`, '{"reason":'],
    ['array body', 'POST', () => `/api/visits/${visitId}/cancel`, ['x']],
    ['move to a bad day', 'POST', () => `/api/visits/${visitId}/date`, { date: '2026-02-30' }],
    [
      'depart, year 0000',
      'POST',
      () => `/api/visits/${visitId}/depart`,
      { risksRead: true, expectedReturnAt: '0000-01-01T00:00:00Z' },
    ],
    [
      'depart check, year 9999',
      'POST',
      () => `/api/visits/${visitId}/departure-check`,
      { expectedReturnAt: '9999-12-31T23:59:59Z', estimatedArrivalAt: '0000-01-01T00:00:00Z' },
    ],
    ['NUL in reason', 'POST', () => `/api/visits/${visitId}/cancel`, { reason: 'a\u0000b' }],
    [
      'NUL in request',
      'POST',
      () => '/api/visits',
      { school: 'heath-lane', pupilMisId: '9002', reason: 'x\u0000y' },
    ],
  ];
  for (const [name, method, url, body] of cases)
    it(`${name}: a 4xx, not a 500`, async () => {
      const r = await call('vera', method, url(), body);
      expect(r.statusCode, `${r.statusCode} ${r.body}`).toBeLessThan(500);
    });
});
