import type { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttFobTransport } from '../../../connectors/fob/mqtt/transport.ts';
import type { IngestDeps } from '../../../src/alarms/ingest.ts';
import { fobRejectedCounter } from '../../../src/http/metrics.ts';
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

const id = uniqueName('mqtt');
const schema = id;
const prefix = id;
const topicRoot = `doorstep-test/${id}`;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let publisher: MqttClient;
const log = createLogger({ level: 'silent' });
const registry = new Registry();

const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ["${topicRoot}/fobs/+/events"], clientId: "${id.slice(0, 40)}" }
      devices:
        - { deviceId: PS-0001, staffId: staff-17 }
`,
}).schools[0]!;
const transportConfig = school.fobs.transports[0]! as Extract<
  (typeof school.fobs.transports)[number],
  { kind: 'mqtt' }
>;

function transport(ingest: IngestDeps) {
  return new MqttFobTransport({
    school,
    transport: transportConfig,
    ingest,
    log,
    rejectedCounter: fobRejectedCounter(registry),
  });
}

function publish(payload: string | object) {
  return new Promise<void>((resolve, reject) =>
    publisher.publish(
      `${topicRoot}/fobs/PS-0001/events`,
      typeof payload === 'string' ? payload : JSON.stringify(payload),
      { qos: 1 },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
}

const sos = (n: number) => ({
  event_id: `mq-${n}`,
  device: { id: 'PS-0001' },
  type: 'SOS',
  occurred_at: '2025-11-18T10:02:00Z',
});

async function count(sql: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT (${sql})::int AS n`);
  return rows[0]!.n;
}

function reach(sql: string, n: number, ms = 15_000) {
  return until(async () => (await count(sql)) >= n, ms, `${sql} to reach ${n}`, 50);
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  publisher = await mqtt.connectAsync(TEST_MQTT_URL, { clientId: `${id.slice(0, 40)}-pub` });
});
afterAll(async () => {
  await publisher.endAsync();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('MQTT fob transport (real Mosquitto)', () => {
  it('stores every QoS 1 alarm once, with its escalation job, and rejects a malformed payload without looping', async () => {
    const t = transport({ db, producer, prefix });
    t.start();
    await t.ready;
    for (let i = 0; i < 50; i++) await publish(sos(i));
    await publish(sos(0)); // the same device event again
    await publish('{"not": "a fob event"');
    await reach('SELECT count(*) FROM alarms', 50);
    await reach('SELECT count(*) FROM rejected_events', 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(await count('SELECT count(*) FROM alarms')).toBe(50);
    expect(await count(`SELECT count(*) FROM alarms WHERE staff_id = 'staff-17'`)).toBe(50);
    const jobs = await producer.queueFor('escalate').getJobs(['waiting', 'delayed', 'active']);
    expect(jobs).toHaveLength(50);
    expect(await registry.getSingleMetricAsString('doorstep_fob_rejected_total')).toContain(
      `school="alpha",transport="mqtt"} 1`,
    );
    await t.stop();
    // Reconnecting with the same session: the rejected payload was acknowledged and does not come back.
    const again = transport({ db, producer, prefix });
    again.start();
    await again.ready;
    await new Promise((r) => setTimeout(r, 500));
    expect(await count('SELECT count(*) FROM rejected_events')).toBe(1);
    await again.stop();
  });

  it('receives what was published while it was away (persistent session)', async () => {
    for (let i = 100; i < 120; i++) await publish(sos(i));
    const t = transport({ db, producer, prefix });
    t.start();
    await t.ready;
    await reach(`SELECT count(*) FROM fob_events WHERE vendor_event_id LIKE 'mq-1__'`, 20);
    await t.stop();
  });

  it('does not acknowledge until the write succeeds: a failed write is redelivered and stored once', async () => {
    let failures = 0;
    const flaky: Db = {
      ...db,
      query: async (sql, params) => {
        if (sql.includes('INSERT INTO fob_events') && failures < 6) {
          failures++;
          throw new Error('database unavailable (simulated)');
        }
        return db.query(sql, params);
      },
    };
    const t = transport({ db: flaky, producer, prefix });
    t.start();
    await t.ready;
    await publish(sos(500));
    await reach(`SELECT count(*) FROM fob_events WHERE vendor_event_id = 'mq-500'`, 1, 20_000);
    expect(failures).toBe(6);
    await new Promise((r) => setTimeout(r, 300));
    expect(
      await count(
        `SELECT count(*) FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = 'mq-500'`,
      ),
    ).toBe(1);
    await t.stop();
  }, 30_000);
});
