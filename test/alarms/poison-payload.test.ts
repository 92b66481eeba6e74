import type { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MqttFobTransport } from '../../connectors/fob/mqtt/transport.ts';
import { PeoplesafeStyleProfile } from '../../connectors/fob/profiles/peoplesafe-style.ts';
import { acceptFobPayload } from '../../src/alarms/accept.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import {
  dropSchema,
  TEST_DATABASE_URL,
  TEST_MQTT_URL,
  TEST_REDIS_URL,
  uniqueName,
} from '../helpers/services.ts';

/**
 * A payload that makes Doorstep's own code throw must be taken (refused and acknowledged), never
 * left to the broker: an MQTT message not acknowledged is redelivered on every reconnect, and the
 * messages behind it — alarms included — wait behind it once the session's in-flight window is full.
 */
const schema = uniqueName('poison');
const prefix = uniqueName('poison');
const id = uniqueName('poison');
const topicRoot = `doorstep-test/${id}`;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ["${topicRoot}/fobs/{device}/events"], clientId: "${id.slice(0, 40)}" }
`,
}).schools[0]!;
const transport = school.fobs.transports[0]! as Extract<
  (typeof school.fobs.transports)[number],
  { kind: 'mqtt' }
>;

// An object whose `toString` is not a function: `String(value)` of it throws a TypeError.
const POISON = JSON.stringify({
  event_id: 'p-1',
  device: { id: 'PS-0001' },
  type: { toString: 0 },
  occurred_at: '2026-01-01T10:00:00Z',
});
const sos = (i: number) =>
  JSON.stringify({
    event_id: `sos-${i}`,
    device: { id: 'PS-0001' },
    type: 'SOS',
    occurred_at: new Date().toISOString(),
  });
const arrival = () => ({
  receivedAt: new Date(),
  source: `${topicRoot}/fobs/PS-0001/events`,
  deviceId: 'PS-0001',
  signature: null,
});

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('a payload that makes the code throw', () => {
  it('a profile that throws on a payload: refused as undecodable and kept, not thrown', async () => {
    const spy = vi.spyOn(PeoplesafeStyleProfile.prototype, 'decode').mockImplementationOnce(() => {
      throw new TypeError('Cannot convert object to primitive value');
    });
    try {
      const r = await acceptFobPayload(
        { db, producer, prefix },
        school,
        transport,
        Buffer.from(sos(0)),
        arrival(),
      );
      expect(r).toEqual({
        outcome: 'invalid',
        field: '(body)',
        reason: 'the peoplesafe-style profile could not read it (TypeError)',
      });
    } finally {
      spy.mockRestore();
    }
    const { rows } = await db.query<{ reason: string }>(
      `SELECT reason FROM rejected_events WHERE reason LIKE '%could not read%'`,
    );
    expect(rows).toEqual([{ reason: '(body): the peoplesafe-style profile could not read it (TypeError)' }]);
  });

  it('over MQTT: taken once, and every SOS published behind it (more than the in-flight window) is raised', async () => {
    const dropped: string[] = [];
    const log = createLogger({ level: 'silent' });
    let poisonTries = 0;
    const t = new MqttFobTransport({
      schoolId: 'alpha',
      transport,
      clientId: id.slice(0, 40),
      log: new Proxy(log, {
        get: (target, p) =>
          p === 'error' ? (_o: unknown, msg?: string) => dropped.push(String(msg)) : Reflect.get(target, p),
      }),
      accept: async (raw, a) => {
        if (String(raw) === POISON) poisonTries++;
        await acceptFobPayload({ db, producer, prefix }, school, transport, raw, a);
      },
    });
    t.start();
    await t.ready;
    const pub = await mqtt.connectAsync(TEST_MQTT_URL, { clientId: `${id}-pub`.slice(0, 60) });
    try {
      const topic = `${topicRoot}/fobs/PS-0001/events`;
      await pub.publishAsync(topic, POISON, { qos: 1 });
      const n = 140; // over RECEIVE_MAXIMUM (128): a stuck message would hold the rest at the broker
      for (let i = 1; i <= n; i++) await pub.publishAsync(topic, sos(i), { qos: 1 });
      let alarms = 0;
      for (let waited = 0; alarms < n && waited < 60_000; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
            WHERE e.vendor_event_id LIKE 'sos-%' AND e.vendor_event_id <> 'sos-0'`,
        );
        alarms = rows[0]!.n;
      }
      expect(alarms).toBe(n);
      expect(poisonTries).toBe(1);
      expect(dropped).toEqual([]);
      const { rows } = await db.query<{ reason: string }>(
        `SELECT reason FROM rejected_events WHERE raw_bytes = $1 AND reason LIKE 'type:%'`,
        [Buffer.byteLength(POISON)],
      );
      expect(rows).toEqual([{ reason: 'type: unknown event type {"toString":0}' }]);
    } finally {
      await pub.endAsync();
      await t.stop();
    }
  }, 90_000);
});
