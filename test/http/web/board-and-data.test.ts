import { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/config/load.ts';
import { catalog } from '../../../src/queue/catalog.ts';
import { Producer } from '../../../src/queue/producer.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { noteFeedEvent, setIngestStatus } from '../../../src/store/ingest-status.ts';
import { openStore } from '../../../src/store/open.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { until } from '../../helpers/wait.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * What the newcomer walk found the board and the data page saying, on the example configuration:
 * the board red with "No event from the broker yet" while the data page said "Every fob feed is
 * arriving"; an alarm card with failed texts above "Failed deliveries (0)"; "level 3 sent" on a
 * 2-level ladder; a chronology's date-only entries at "00:00"; and "Sync queued" left on the page
 * after the sync was done.
 */
const schema = uniqueName('boarddata');
const prefix = uniqueName('boarddata');
const config = loadConfigFile('config/doorstep.example.yaml', {});
const now = new Date('2026-11-23T10:00:00Z');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
const as = new Map<string, { cookie: string; csrf: string }>();

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  app = await buildWebApp(config, db, { prefix, publisher: conn, producer, now: () => now });
  as.set('office', await sessionFor(db, await addUser(db, 'olive', ['office'], { schools: ['heath-lane'] })));
  as.set(
    'data',
    await sessionFor(db, await addUser(db, 'dora', ['data-manager'], { schools: ['heath-lane'] })),
  );
  as.set('sg', await sessionFor(db, await addUser(db, 'dan', ['safeguarding'], { schools: ['heath-lane'] })));
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

const get = (who: string, url: string) => app.inject({ url, headers: { cookie: as.get(who)!.cookie } });
const feedsOf = async () => ({
  board: (await get('office', '/api/board?school=heath-lane')).json().fobFeeds,
  data: (await get('data', '/api/data?school=heath-lane')).json().fobFeeds,
});

describe('the board and the data page read the fob feeds from the same server state', () => {
  it('before the broker sent anything: both say so (silent), neither says "arriving"', async () => {
    const { board, data } = await feedsOf();
    expect(data).toEqual(board);
    expect(board).toEqual({
      down: [],
      refusing: [],
      broker: { lastEventAt: null, secondsAgo: null, thresholdSeconds: expect.any(Number), silent: true },
    });
  });

  it('a message from the broker, then the connection down: both follow', async () => {
    await noteFeedEvent(db, {
      schoolId: 'heath-lane',
      transportKey: 'mqtt:0',
      at: new Date(now.getTime() - 5000),
    });
    let { board, data } = await feedsOf();
    expect(data).toEqual(board);
    expect(board.broker).toMatchObject({ silent: false, secondsAgo: 5 });
    await setIngestStatus(db, {
      schoolId: 'heath-lane',
      transportKey: 'mqtt:0',
      state: 'down',
      reason: 'connection refused',
      at: now,
    });
    ({ board, data } = await feedsOf());
    expect(data).toEqual(board);
    expect(board.down).toEqual([
      { transport: 'mqtt:0', reason: 'connection refused', since: now.toISOString() },
    ]);
    // The data page's older field says the same.
    expect((await get('data', '/api/data?school=heath-lane')).json().fobFeedsDown).toEqual(board.down);
  });
});

describe('an alarm on the board', () => {
  it('numbers the level sent within its 2-level ladder, and counts its failed texts under Failed deliveries', async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO alarms (school_id, dedup_key, unknown_device, type, status, raised_at, policy, escalation_step)
       VALUES ('heath-lane', 'levels-1', false, 'sos', 'open', $1, $2, 3) RETURNING id`,
      [
        new Date(now.getTime() - 300_000),
        JSON.stringify(config.schools[0]!.escalation.alarm ?? { levels: [], repeat: 0 }),
      ],
    );
    const id = String(rows[0]!.id);
    await db.query(
      `INSERT INTO notifications (alarm_id, step, target, status, last_error)
       VALUES ($1, 0, 'sms:on-call-leaders', 'failed', 'channels.sms is not configured'),
              ($1, 1, 'email:dsl', 'failed', 'channels.email is not configured'),
              ($1, 1, 'board', 'sent', NULL)`,
      [id],
    );
    const board = (await get('office', '/api/board?school=heath-lane')).json();
    const card = board.alarms.find((a: { id: string }) => a.id === id);
    expect(config.schools[0]!.escalation.alarm!.levels).toHaveLength(2);
    // Three steps sent: level 1, level 2, then level 1 again (the second round).
    expect(card.levelSent).toMatchObject({ level: 1, of: 2, round: 2, broughtForward: null });
    const failed = board.failed.filter((f: { alarmId: string | null }) => f.alarmId === id);
    expect(failed.map((f: { detail: string }) => f.detail).sort()).toEqual([
      'email:dsl',
      'sms:on-call-leaders',
    ]);
  });
});

describe('marks that stopped coming in', () => {
  it('the data page says so once three school days have none, while every sync still applies', async () => {
    const marksStale = async () => (await get('data', '/api/data?school=heath-lane')).json().marksStale;
    expect(await marksStale()).toMatch(/^no attendance marks have been imported for this school yet/);
    // One pupil marked present on the morning of Tuesday 17 November, nothing after (now: Monday 23rd).
    await db.query(
      `INSERT INTO attendance_months (school_id, pupil_mis_id, month, codes, categories, local_codes, minutes_late, import_ids)
       SELECT 'heath-lane', 'P1', '2026-11-01', c, c, c, array_fill(NULL::int, ARRAY[62]), array_fill(NULL::bigint, ARRAY[62])
       FROM (SELECT array_fill(NULL::text, ARRAY[62]) AS c) e`,
    );
    await db.query(
      `UPDATE attendance_months SET codes[33] = '/', categories[33] = 'present' WHERE school_id = 'heath-lane'`,
    );
    expect(await marksStale()).toMatch(
      /^the latest marks are for 2026-11-17: the 3 school days since have none for any pupil/,
    );
    await db.query(`DELETE FROM attendance_months WHERE school_id = 'heath-lane'`);
  });
});

describe('a chronology', () => {
  it('shows a date-only entry by its date, not at 00:00', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname) VALUES ('heath-lane', '9002', 'Kofi', 'Mensah')`,
    );
    await db.query(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ('heath-lane', '9002', 'heath-lane:absent-3-days', 'Not seen for 3 days', 'home-visit', 'attendance-coordinator', 'open', '2026-07-06', 'absent', '{}')`,
    );
    const json = (await get('sg', '/api/pupils/9002/chronology?school=heath-lane')).json();
    expect(json.entries[0]).toMatchObject({
      source: 'trigger',
      date: '2026-07-06',
      // The start of that day in London (summer time: 23:00 the day before, UTC).
      at: '2026-07-05T23:00:00.000Z',
    });
    const page = (await get('sg', '/pupils/9002/chronology?school=heath-lane')).body;
    expect(page).toContain('<td>Mon 6 Jul 2026</td><td>trigger</td>');
    expect(page).not.toMatch(/6 Jul 2026, \d\d:\d\d<\/td><td>trigger/);
  });
});

describe('"Sync now" on the data page', () => {
  it('can be followed until it is done, for the school it was asked for only', async () => {
    const post = await app.inject({
      method: 'POST',
      url: '/api/data/sync',
      headers: { cookie: as.get('data')!.cookie, 'x-csrf-token': (await csrfOf('data')) ?? '' },
      payload: { school: 'heath-lane' },
    });
    expect(post.statusCode, post.body).toBe(202);
    const jobId = post.json().jobId as string;
    const state = async () =>
      (await get('data', `/api/data/sync/${jobId}?school=heath-lane`)).json() as {
        state: string;
        finishedAt: string | null;
        stillWriting: number;
      };
    expect((await state()).state).toBe('waiting');
    expect((await get('data', `/api/data/sync/${jobId}?school=hampton-infant`)).statusCode).toBe(403);
    expect((await get('data', '/api/data/sync/999999?school=heath-lane')).statusCode).toBe(404);
    // Only a job id as "Sync now" gives it: the queue's own keys are not jobs (they had answered 500).
    for (const key of ['id', 'events', 'meta', 'de:sync:heath-lane'])
      expect(
        (await get('data', `/api/data/sync/${encodeURIComponent(key)}?school=heath-lane`)).statusCode,
      ).toBe(400);
    // A worker takes it (here one that imports nothing and finds a file still being written): the
    // page then reads "done", and that one file is still being written.
    const workerConn = await connectRedis({ url: TEST_REDIS_URL }, 'worker');
    const worker = new Worker(
      producer.queueFor('sync-attendance').name,
      async () => ({ applied: 0, refused: 0, changedPupils: 0, settling: 1 }),
      { connection: workerConn, prefix },
    );
    try {
      const done = await until(
        async () => {
          const s = await state();
          return s.state === 'completed' ? s : null;
        },
        20_000,
        'the sync to complete',
      );
      expect(done.finishedAt).toEqual(expect.any(String));
      expect(done).toMatchObject({ stillWriting: 1 });
    } finally {
      await worker.close();
      workerConn.disconnect();
    }
  });
});

const sessions = new Map<string, string>();
async function csrfOf(who: string): Promise<string | undefined> {
  if (!sessions.has(who)) {
    const me = await get(who, '/api/me');
    sessions.set(who, me.json().csrfToken);
  }
  return sessions.get(who);
}
