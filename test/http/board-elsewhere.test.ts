import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/queue/redis.ts';
import { insertBoardEvent, publishBoardEvents } from '../../src/store/board.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';
import { twoSchoolConfig } from './two-schools.ts';

/**
 * The newcomer walk: an office user of two schools watching alpha's board never saw or heard beta's
 * open SOS ("Alarms (0)", no sound). The board is told of the user's other schools' unacknowledged
 * alarms — counted in /api/board and pushed on its stream — and nobody else's.
 */
const schema = uniqueName('elsewhere');
const config = twoSchoolConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let base: string;
let both: { cookie: string; csrf: string };
let alphaOnly: { cookie: string; csrf: string };

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, publisher: conn });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  both = await sessionFor(db, await addUser(db, 'trust.office', ['office']));
  alphaOnly = await sessionFor(db, await addUser(db, 'alpha.office', ['office'], { schools: ['alpha'] }));
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

async function raise(school: string, key: string, test = false): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, test)
     VALUES ($1, $2, false, 'sos', 'open', now(), '{"levels":[{"afterMinutes":0,"notify":["board"]}],"repeat":0}', $3)
     RETURNING id`,
    [school, key, test],
  );
  return String(rows[0]!.id);
}

const board = async (who: { cookie: string }, school: string) =>
  (await app.inject({ url: `/api/board?school=${school}`, headers: { cookie: who.cookie } })).json();

/** An open board stream's text so far. */
async function openStream(cookie: string, school: string) {
  const res = await fetch(`${base}/board/events?school=${school}`, { headers: { cookie } });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  while (!text.includes('event: heartbeat')) await new Promise((r) => setTimeout(r, 10));
  return { text: () => text, close: () => reader.cancel().catch(() => {}) };
}

describe("an alarm at another of the user's schools", () => {
  it("is counted on the board being watched, with the school's name: for those of that school only", async () => {
    expect((await board(both, 'alpha')).elsewhere).toEqual([]);
    const id = await raise('beta', 'elsewhere-1');
    await raise('beta', 'elsewhere-drill', true); // a fob drill is beta's own business
    expect((await board(both, 'alpha')).elsewhere).toEqual([
      { schoolId: 'beta', schoolName: 'beta school', unacknowledged: 1, alarmIds: [id] },
    ]);
    // Not the school's own board, and not to someone who does not work at beta.
    expect((await board(both, 'beta')).elsewhere).toEqual([]);
    expect((await board(alphaOnly, 'alpha')).elsewhere).toEqual([]);
    // Acknowledged, it no longer sounds elsewhere.
    await db.query(`UPDATE alarms SET status = 'acknowledged' WHERE id = $1`, [id]);
    expect((await board(both, 'alpha')).elsewhere).toEqual([]);
  });

  it('reaches an open board of another school at once, on the stream of its people only', async () => {
    const mine = await openStream(both.cookie, 'alpha');
    const notMine = await openStream(alphaOnly.cookie, 'alpha');
    try {
      const e = await insertBoardEvent(db, 'beta', 'alarm.raised', { alarmId: '4242' });
      await publishBoardEvents(conn, schema, [e]);
      const frame =
        'event: alarm-elsewhere\ndata: {"schoolId":"beta","type":"alarm.raised","alarmId":"4242"}\n\n';
      for (let i = 0; i < 500 && !mine.text().includes(frame); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(mine.text()).toContain(frame);
      // Not as beta's own event: no id that would move the board's Last-Event-ID.
      expect(mine.text()).not.toContain(`id: ${e.id}\n`);
      // A visit's news at beta is not an alarm: not sent.
      const v = await insertBoardEvent(db, 'beta', 'visit.departed', { visitId: '1' });
      const a = await insertBoardEvent(db, 'alpha', 'alarm.resolved', { alarmId: '1' });
      await publishBoardEvents(conn, schema, [v, a]);
      for (let i = 0; i < 500 && !notMine.text().includes(`id: ${a.id}\n`); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(notMine.text()).toContain(`id: ${a.id}\n`);
      expect(notMine.text()).not.toContain('alarm-elsewhere');
      expect(mine.text()).not.toContain('"type":"visit.departed"');
    } finally {
      await mine.close();
      await notMine.close();
    }
  });
});
