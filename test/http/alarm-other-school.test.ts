import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';
import { twoSchoolConfig } from './two-schools.ts';

/**
 * Found by review: another school's alarm was answered 403 ("belongs to another school") where a
 * missing one is 404 — unlike visits, address flags and outbox records, whose existence is not
 * another school's to know. Alarm ids are a sequence: an office user could count the other schools'
 * alarms by probing. It is answered as none.
 */
const schema = uniqueName('otheralarm');
const config = twoSchoolConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let betaAlarm = '';
let s: { cookie: string; csrf: string };

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, publisher: conn });
  const office = await addUser(db, 'alpha.office', ['office'], { schools: ['alpha'] });
  s = await sessionFor(db, office);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy)
     VALUES ('beta', 'other-beta-1', false, 'sos', 'open', now(), '{"levels":[{"afterMinutes":0,"notify":["board"]}],"repeat":0,"condition":"if-not-resolved"}')
     RETURNING id`,
  );
  betaAlarm = String(rows[0]!.id);
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const ack = (id: string) =>
  app.inject({
    method: 'POST',
    url: `/api/alarms/${id}/acknowledge`,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    payload: {},
  });

describe("another school's alarm", () => {
  it('is answered as one that does not exist', async () => {
    const theirs = await ack(betaAlarm);
    const none = await ack('987654321');
    expect(none.statusCode).toBe(404);
    expect({ status: theirs.statusCode, message: theirs.json().message }).toEqual({
      status: 404,
      message: `no alarm ${betaAlarm}`,
    });
  });
});
