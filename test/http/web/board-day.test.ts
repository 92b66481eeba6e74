import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * A board left open over midnight said yesterday's date in its toolbar while "Today's visits" and
 * "Resolved today" had moved to the new day: the date was the browser's, taken once when the page
 * opened. The board's answer now says the London day its lists are for, and the toolbar says that
 * day on every re-read.
 */
interface Words {
  boardDaySaid: (day: string | null | undefined, now?: Date) => string;
}
const words = (await import(new URL('../../../web/assets/words.js', import.meta.url).href)) as Words;

const schema = uniqueName('boardday');
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let now = new Date('2026-06-05T22:59:00Z');
let office: { cookie: string; csrf: string };

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(visitSchoolsConfig(), db, { prefix: schema, now: () => now, publisher: conn });
  office = await sessionFor(db, await addUser(db, 'olive', ['office'], { schools: ['lime'] }));
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe('the board’s date', () => {
  it('is the London day the board’s lists are for, and turns with them at midnight', async () => {
    const day = async () => {
      const r = await app.inject({ url: '/api/board?school=lime', headers: { cookie: office.cookie } });
      expect(r.statusCode).toBe(200);
      return words.boardDaySaid(r.json().day);
    };
    // 23:59 in London (summer time: an hour ahead of UTC), then 00:01 the next day.
    expect(await day()).toBe('Friday 5 June 2026');
    now = new Date('2026-06-05T23:01:00Z');
    expect(await day()).toBe('Saturday 6 June 2026');
  });

  it('says the day it is given, whatever the browser’s clock; without one, the server’s now', () => {
    expect(words.boardDaySaid('2026-12-05', new Date('2026-12-04T23:43:00Z'))).toBe(
      'Saturday 5 December 2026',
    );
    expect(words.boardDaySaid('2026-03-29')).toBe('Sunday 29 March 2026');
    expect(words.boardDaySaid(undefined, new Date('2026-12-04T23:43:00Z'))).toBe('Friday 4 December 2026');
  });
});
