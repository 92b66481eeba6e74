import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../src/core/standard-webhooks.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { blacklinePush } from '../helpers/blackline.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const SECRET = `whsec_${Buffer.from('a-test-secret-of-32-bytes-length!').toString('base64')}`;
const TOKEN = 'bl-push-token-0123456789abcdef0123456789';
const T0 = new Date('2025-11-18T10:02:05Z');
let clock = T0;
const schema = uniqueName('resetretry');
const prefix = uniqueName('resetretry');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;

const config = configWith({
  env: { FOB_SECRET: SECRET, BL_TOKEN: TOKEN },
  school: `    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${FOB_SECRET}" }
        - { kind: webhook, profile: blackline, verify: address-token, token: "\${BL_TOKEN}" }
      devices:
        - { deviceId: PS-0001, staffId: staff-17 }
        - { deviceId: BL-9, staffId: staff-9 }
`,
});

/** The same delivery (same webhook-id, same body), signed afresh at the current clock — as a Standard Webhooks sender retries. */
function deliver(raw: string, id: string) {
  const ts = Math.floor(clock.getTime() / 1000);
  return app.inject({
    method: 'POST',
    url: '/hooks/fob/alpha/peoplesafe-style',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(SECRET, id, ts, Buffer.from(raw)),
    },
    payload: raw,
  });
}

async function alarmCount(): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM alarms');
  return rows[0]!.n;
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  app = await buildHttpApp({
    log: createLogger({ level: 'silent' }),
    readiness: [],
    metrics: createMetrics([]),
    queues: [],
    fobWebhooks: { config, ingest: { db, producer, prefix }, now: () => clock, feedWriteEveryMs: 0 },
  });
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

/**
 * An alarm from a fob whose clock reset (its time more than 30 days off) is told from a new press
 * by what the transport gives besides its time: over a webhook, the delivery id a sender's retry
 * keeps (Standard Webhooks), or with none (Blackline's push) the bytes alone — never the 2-minute
 * window it happened to arrive in, which a retry 5 minutes later falls outside of.
 */
describe('a webhook retry of an alarm from a reset clock', () => {
  it('control: a merely late alarm (2 h behind) retried under the same webhook-id 5 min later is a duplicate', async () => {
    clock = T0;
    const raw = JSON.stringify({
      event_id: 'late-1',
      device: { id: 'PS-0001' },
      type: 'SOS',
      occurred_at: '2025-11-18T08:00:00Z',
    });
    const before = await alarmCount();
    expect((await deliver(raw, 'msg_late')).statusCode).toBe(202);
    clock = new Date(T0.getTime() + 5 * 60_000);
    const retry = await deliver(raw, 'msg_late');
    expect(retry.statusCode).toBe(200);
    expect(await alarmCount()).toBe(before + 1);
  });

  it('a reset-clock SOS (dated 2000) retried under the same webhook-id 5 min later is the same alarm', async () => {
    clock = T0;
    const raw = JSON.stringify({
      event_id: 'reset-1',
      device: { id: 'PS-0001' },
      type: 'SOS',
      occurred_at: '2000-01-01T00:00:00Z',
    });
    const before = await alarmCount();
    const first = await deliver(raw, 'msg_reset');
    expect(first.statusCode).toBe(202);
    clock = new Date(T0.getTime() + 5 * 60_000); // Standard Webhooks' (Svix) second retry: 5 minutes
    const retry = await deliver(raw, 'msg_reset');
    // What a redelivery should get (the docs: "200 for an exact redelivery (no second alarm)"):
    expect(retry.statusCode).toBe(200);
    expect(await alarmCount()).toBe(before + 1);
  });

  it('Blackline: the same push (same bytes) of a reset-clock alert resent 5 min later is the same alarm', async () => {
    clock = T0;
    const raw = blacklinePush(777, 'emergency_alert', {
      device_id: 'BL-9',
      date_created: '2000-01-01 00:00:00',
    });
    const before = await alarmCount();
    const post = () =>
      app.inject({
        method: 'POST',
        url: `/hooks/fob/alpha/blackline/${TOKEN}`,
        headers: { 'content-type': 'application/json' },
        payload: raw,
      });
    expect((await post()).statusCode).toBe(200);
    clock = new Date(T0.getTime() + 5 * 60_000);
    expect((await post()).statusCode).toBe(200);
    const { rows } = await db.query<{ id: string }>(
      "SELECT a.id FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = '777'",
    );
    expect(rows).toHaveLength(1);
    expect(await alarmCount()).toBe(before + 1);
  });

  it('a new delivery (a new webhook-id) of the same reset-clock bytes is a new press: raised again', async () => {
    clock = T0;
    const raw = JSON.stringify({
      event_id: 'reset-2',
      device: { id: 'PS-0001' },
      type: 'SOS',
      occurred_at: '2000-01-01T00:00:00Z',
    });
    const before = await alarmCount();
    expect((await deliver(raw, 'msg_press_1')).statusCode).toBe(202);
    clock = new Date(T0.getTime() + 60_000);
    expect((await deliver(raw, 'msg_press_2')).statusCode).toBe(202);
    expect(await alarmCount()).toBe(before + 2);
  });
});
