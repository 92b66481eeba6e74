import type { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mqttTransportKey, startMqttFeed } from '../../../src/alarms/fob-feeds.ts';
import type { SchoolConfig } from '../../../src/config/schema.ts';
import { ingestCounters } from '../../../src/http/metrics.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { catalog } from '../../../src/queue/catalog.ts';
import { Producer } from '../../../src/queue/producer.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import {
  dropSchema,
  TEST_DATABASE_URL,
  TEST_MQTT_URL,
  TEST_REDIS_URL,
  uniqueName,
} from '../../helpers/services.ts';
import { until } from '../../helpers/wait.ts';

/**
 * An MQTT session Doorstep held is Doorstep's across restarts: a start whose broker says it has no
 * session for it — the broker restarted without persistence, or the session expired, while Doorstep
 * was stopped — lost whatever fobs published meanwhile, and the board says so (the process that held
 * the session is gone, so only the store remembers it). So does a start under a new identity because
 * the feed was edited (a topic added, the broker moved): what was queued for the old one is never read.
 */
const id = uniqueName('mqttkept');
const topicRoot = `doorstep-test/${id}`;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
const log = createLogger({ level: 'silent' });
const registry = new Registry();

const schoolWith = (topics: string[], clientId?: string) =>
  configWith({
    school: `    fobs:
      transports:
        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ${JSON.stringify(topics)}${clientId ? `, clientId: "${clientId}"` : ''} }
      devices:
        - { deviceId: PS-0001, staffId: staff-17 }
`,
  }).schools[0]!;
const mqttOf = (s: SchoolConfig) =>
  s.fobs.transports[0]! as Extract<SchoolConfig['fobs']['transports'][number], { kind: 'mqtt' }>;

const feed = (s: SchoolConfig, lostSessionShowMs?: number) =>
  startMqttFeed({
    deps: { db, producer, prefix: id, publisher: conn, counters: ingestCounters(registry) },
    school: s,
    transport: mqttOf(s),
    log,
    takeoverQuietMs: 200,
    ...(lostSessionShowMs !== undefined ? { lostSessionShowMs } : {}),
  });
const boardTypes = async () =>
  (
    await db.query<{ type: string }>(`SELECT type FROM board_events WHERE type LIKE 'ingest.%' ORDER BY id`)
  ).rows.map((r) => r.type);

const downReasons = async () =>
  (
    await db.query<{ reason: string }>(
      `SELECT payload->>'reason' AS reason FROM board_events WHERE type = 'ingest.disconnected' ORDER BY id`,
    )
  ).rows.map((r) => r.reason);

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: id });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, id);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, id);
  await db.close();
  await dropSchema(id);
});

describe('an MQTT session Doorstep held, across restarts', () => {
  const topics = [`${topicRoot}/a/{device}/events`, `${topicRoot}/b/{device}/events`];

  it('a first start under a session never held says nothing', async () => {
    const t = await feed(schoolWith(topics));
    await t.ready;
    await until(async () => (await db.query('SELECT 1 FROM mqtt_sessions')).rows.length === 1, 10_000);
    await t.stop();
    expect(await downReasons()).toEqual([]);
  });

  it('a start whose broker lost the session while Doorstep was stopped says alarms sent meanwhile did not arrive', async () => {
    // The same feed, its topics reordered: the same session (the key does not depend on their order).
    const reordered = schoolWith([...topics].reverse());
    expect(mqttTransportKey(mqttOf(reordered))).toBe(mqttTransportKey(mqttOf(schoolWith(topics))));
    const { rows } = await db.query<{ client_id: string }>('SELECT client_id FROM mqtt_client_ids');
    // While Doorstep is stopped the broker loses the session (a client starting clean under its id ends it).
    const cleaner = await mqtt.connectAsync(TEST_MQTT_URL, {
      clientId: rows[0]!.client_id,
      clean: true,
      protocolVersion: 5,
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: 0 },
    });
    await cleaner.endAsync();
    const t = await feed(reordered);
    await t.ready;
    await until(async () => (await downReasons()).length > 0, 10_000);
    expect(await downReasons()).toEqual([
      expect.stringMatching(
        /^the broker lost Doorstep's session while Doorstep was stopped: fob events sent since it last connected \(\d\d:\d\d UTC\) did not arrive — check on staff out now$/,
      ),
    ]);
    await t.stop();
  });

  it('a feed whose topics were edited (a new session) says what was queued for the old one is never read — once', async () => {
    const before = (await downReasons()).length;
    const edited = schoolWith([...topics, `${topicRoot}/c/{device}/events`]);
    const t = await feed(edited, 300);
    await t.ready;
    await until(async () => (await downReasons()).length > before, 10_000);
    // Shown for its time, then the band clears: the feed itself works.
    await until(async () => (await boardTypes()).at(-1) === 'ingest.restored', 10_000);
    expect((await downReasons()).slice(before)).toEqual([
      expect.stringMatching(
        /^this fob feed's MQTT identity changed \(its topics, broker or client id were edited\): fob events queued at the broker for its previous session \(last connected \d\d:\d\d UTC\) were never read — check on staff out now$/,
      ),
    ]);
    await t.stop();
    // Said once: the next start of the same feed has nothing to say.
    const again = await feed(edited);
    await again.ready;
    await new Promise((r) => setTimeout(r, 500));
    await again.stop();
    expect((await downReasons()).length).toBe(before + 1);
  });
  it('a feed whose client id was edited (the same topics and broker) says what was queued for the old one is never read', async () => {
    const cid = `${id.slice(0, 30)}-cid`;
    // A clean slate: the sessions of the feeds above are not this one's to report.
    await db.query('DELETE FROM mqtt_sessions');
    // Shortened to a prefix of the old id: another client id all the same (not an instance of it).
    const first = await feed(schoolWith([`${topicRoot}/d/{device}/events`], `${cid}-a`));
    await first.ready;
    await until(
      async () =>
        (await db.query('SELECT 1 FROM mqtt_sessions WHERE client_id = $1', [`${cid}-a`])).rows.length === 1,
      10_000,
    );
    await first.stop();
    const before = (await downReasons()).length;
    const edited = await feed(schoolWith([`${topicRoot}/d/{device}/events`], cid));
    await edited.ready;
    await until(async () => (await downReasons()).length > before, 10_000);
    expect((await downReasons()).slice(before)).toEqual([
      expect.stringMatching(
        /^this fob feed's MQTT identity changed \(its topics, broker or client id were edited\)/,
      ),
    ]);
    await edited.stop();
  });
});
