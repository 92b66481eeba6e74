import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedLastEvent } from '../../src/alarms/feed-last-event.ts';
import { createLogger } from '../../src/log/logger.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { fobFeedStatus, setIngestStatus } from '../../src/store/ingest-status.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

const schema = uniqueName('broker');
const prefix = uniqueName('broker');
const log = createLogger({ level: 'silent' });
const config = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
      brokerSilenceSeconds: 600
`,
});
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let clock = new Date('2026-01-14T10:00:00Z');
let office: { cookie: string; csrf: string };

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  // The web role reads what the ingest role wrote: only through the store.
  app = await buildWebApp(config, db, { prefix, publisher: conn, now: () => clock });
  office = await sessionFor(db, await addUser(db, 'office', ['office']));
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const broker = async () =>
  (
    await app.inject({ method: 'GET', url: '/api/board?school=alpha', headers: { cookie: office.cookie } })
  ).json().broker;

describe('the board: last event from the broker', () => {
  it('nothing yet is red; then seconds since the last message, red past fobs.brokerSilenceSeconds', async () => {
    expect(await broker()).toEqual({
      lastEventAt: null,
      secondsAgo: null,
      thresholdSeconds: 600,
      silent: true,
    });
    // The ingest role's recorder, writing at most once a minute here: a flush writes what is pending.
    const feed = new FeedLastEvent({
      db,
      schoolId: 'alpha',
      transportKey: 'mqtt:127.0.0.1:1883:abc',
      log,
      everyMs: 60_000,
    });
    feed.note(new Date('2026-01-14T09:59:18Z'));
    await feed.flush();
    expect(await broker()).toEqual({
      lastEventAt: '2026-01-14T09:59:18.000Z',
      secondsAgo: 42,
      thresholdSeconds: 600,
      silent: false,
    });
    // Exactly at the threshold it is not yet red; a second later it is.
    clock = new Date('2026-01-14T10:09:18Z');
    expect((await broker()).silent).toBe(false);
    clock = new Date('2026-01-14T10:09:19Z');
    expect(await broker()).toMatchObject({ secondsAgo: 601, silent: true });
    // A later message clears it; a late-arriving older time never moves it back.
    feed.note(new Date('2026-01-14T10:09:10Z'));
    feed.note(new Date('2026-01-14T10:09:00Z'));
    await feed.flush();
    expect(await broker()).toMatchObject({
      lastEventAt: '2026-01-14T10:09:10.000Z',
      secondsAgo: 9,
      silent: false,
    });
    feed.note(new Date('2026-01-14T09:00:00Z'));
    await feed.flush();
    expect((await broker()).lastEventAt).toBe('2026-01-14T10:09:10.000Z');
    // The feed's connection state is kept alongside, untouched.
    await setIngestStatus(db, {
      schoolId: 'alpha',
      transportKey: 'mqtt:127.0.0.1:1883:abc',
      state: 'down',
      reason: 'broker unreachable',
      at: clock,
    });
    expect((await broker()).lastEventAt).toBe('2026-01-14T10:09:10.000Z');
    const { rows } = await db.query<{ state: string }>('SELECT state FROM ingest_status');
    expect(rows).toEqual([{ state: 'down' }]);
  });

  it('writes at most once per interval, the latest time winning', async () => {
    const writes: unknown[][] = [];
    const counting = {
      query: async (sql: string, params?: unknown[]) => {
        writes.push(params ?? []);
        return db.query(sql, params);
      },
    };
    const feed = new FeedLastEvent({
      db: counting as unknown as Db,
      schoolId: 'alpha',
      transportKey: 'mqtt:127.0.0.1:1883:def',
      log,
      everyMs: 60_000,
    });
    for (let s = 10; s < 40; s++) feed.note(new Date(`2026-01-14T11:00:${s}Z`));
    await feed.flush();
    expect(writes.map((p) => (p[2] as Date).toISOString())).toEqual(['2026-01-14T11:00:39.000Z']);
  });

  it("an MQTT feed whose every message is refused (a vendor renamed its alarm type) is said on the data manager's page, though the broker is live", async () => {
    const feed = new FeedLastEvent({
      db,
      schoolId: 'alpha',
      transportKey: 'mqtt:127.0.0.1:1883:ren',
      log,
      everyMs: 60_000,
    });
    clock = new Date('2026-01-14T12:00:00Z');
    feed.taken(new Date('2026-01-14T11:58:00Z'));
    for (let s = 10; s < 15; s++)
      feed.refused(new Date(`2026-01-14T11:59:${s}Z`), 'type: PANIC_BUTTON not in the map');
    await feed.flush();
    const status = await fobFeedStatus(db, config.schools[0]!, clock);
    expect(status!.broker).toMatchObject({ silent: false });
    expect(status!.refusing).toEqual([
      {
        transport: 'mqtt:127.0.0.1:1883:ren',
        refused: 5,
        since: '2026-01-14T11:59:10.000Z',
        reason: 'type: PANIC_BUTTON not in the map',
      },
    ]);
    // Not on the board's red band (anyone can make a webhook refuse requests).
    expect(status!.down.map((p) => p.transport)).not.toContain('mqtt:127.0.0.1:1883:ren');
    // Refused, then one taken, in one write: arriving again.
    feed.refused(new Date('2026-01-14T11:59:20Z'), 'type: PANIC_BUTTON not in the map');
    feed.taken(new Date('2026-01-14T11:59:21Z'));
    await feed.flush();
    expect((await fobFeedStatus(db, config.schools[0]!, clock))!.refusing).toEqual([]);
  });

  it('a school with no MQTT feed shows no broker line', async () => {
    const plain = configWith();
    expect(plain.schools[0]!.fobs.brokerSilenceSeconds).toBe(900);
    const other = await buildWebApp(plain, db, { prefix, publisher: conn, now: () => clock });
    try {
      const r = await other.inject({
        method: 'GET',
        url: '/api/board?school=alpha',
        headers: { cookie: office.cookie },
      });
      expect(r.json().broker).toBeNull();
    } finally {
      await other.close();
    }
  });
});
