import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildHttpApp } from '../../src/http/app.ts';
import { WEBHOOK_READ_MAX_BYTES } from '../../src/http/fob-webhook.ts';
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

/**
 * Blackline's push service (https://push.blacklinesafety.com) posts its JSON alert, wrapped in
 * "alert", with the content type "www-urlencoded-form" and no signature, to the address it was
 * given, and expects the MD5 hex of the body back: verified by the token that address carries.
 */
const TOKEN = 'bl-push-token-0123456789abcdef0123456789';
const NOW = new Date('2025-11-18T10:02:05Z');
/** The server's clock: NOW, but where a test moves it (and puts it back after). */
let clock = NOW;
const schema = uniqueName('blpush');
const prefix = uniqueName('blpush');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;

const config = configWith({
  env: { BL_TOKEN: TOKEN },
  school: `    fobs:
      transports:
        - { kind: webhook, profile: blackline, verify: address-token, token: "\${BL_TOKEN}" }
      devices:
        - { deviceId: BL-9, staffId: staff-9 }
`,
});

const push = (id: number, type = 'emergency_alert') => blacklinePush(id, type, { device_id: 'BL-9' });

const post = (path: string, body: string, contentType = 'application/x-www-form-urlencoded') =>
  app.inject({ method: 'POST', url: path, headers: { 'content-type': contentType }, payload: body });

async function alarms() {
  const { rows } = await db.query<{ type: string; device_id: string; raised_at: Date }>(
    'SELECT type, device_id, raised_at FROM alarms ORDER BY id',
  );
  return rows.map((r) => ({ ...r, raised_at: new Date(r.raised_at).toISOString() }));
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

describe("Blackline's push, as published", () => {
  it('is taken at the address with its token: the MD5 hex answered, the SOS raised at its UTC time', async () => {
    const body = push(24456);
    const r = await post(`/hooks/fob/alpha/blackline/${TOKEN}`, body);
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe(createHash('md5').update(body).digest('hex'));
    expect(await alarms()).toEqual([
      { type: 'sos', device_id: 'BL-9', raised_at: '2025-11-18T10:02:00.000Z' },
    ]);
    // Sent again (no answer reached Blackline): the same alarm, answered the same.
    const again = await post(`/hooks/fob/alpha/blackline/${TOKEN}`, body);
    expect(again.statusCode).toBe(200);
    expect(await alarms()).toHaveLength(1);
    // A logon is no alarm.
    expect((await post(`/hooks/fob/alpha/blackline/${TOKEN}`, push(24457, 'logon'))).statusCode).toBe(200);
    expect(await alarms()).toHaveLength(1);
  });

  it('a push it cannot take (a logon naming no device) is kept refused and answered with its MD5, so Blackline does not send it for ever', async () => {
    const body = blacklinePush(24470, 'logon');
    const r = await post(`/hooks/fob/alpha/blackline/${TOKEN}`, body);
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe(createHash('md5').update(body).digest('hex'));
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM rejected_events');
    expect(rows[0]!.n).toBeGreaterThan(0);
  });

  it('a wrong token is refused (401), the address without one is none (404), and nothing is raised', async () => {
    const before = (await alarms()).length;
    expect(
      (await post('/hooks/fob/alpha/blackline/not-the-token-0123456789abcdefghij', push(1))).statusCode,
    ).toBe(401);
    expect((await post('/hooks/fob/alpha/blackline', push(2))).statusCode).toBe(404);
    expect(
      (await post('/hooks/fob/alpha/blackline/not-the-token-0123456789abcdefghij', push(3), 'text/plain'))
        .statusCode,
    ).toBe(401);
    expect(await alarms()).toHaveLength(before);
  });

  it('a post over what is read at all (16 MiB) counts against the feed only with its token: a stranger cannot make it look refused', async () => {
    const refused = async () =>
      (
        await db.query<{ n: number }>(
          `SELECT refused_since_taken AS n FROM ingest_status WHERE transport_key = 'webhook:blackline'`,
        )
      ).rows[0]?.n ?? 0;
    // A push taken first: the feed's count starts again at 0 once every earlier write has landed
    // (the feed's writes go in order), so no refusal of an earlier test is counted here.
    expect((await post(`/hooks/fob/alpha/blackline/${TOKEN}`, push(24470, 'logon'))).statusCode).toBe(200);
    await vi.waitFor(async () => expect(await refused()).toBe(0));
    const before = 0;
    const huge = 'x'.repeat(WEBHOOK_READ_MAX_BYTES + 1);
    expect(
      (await post('/hooks/fob/alpha/blackline/not-the-token-0123456789abcdefghij', huge)).statusCode,
    ).toBe(413);
    expect((await post('/hooks/fob/alpha/blackline', huge)).statusCode).toBe(404);
    expect((await post(`/hooks/fob/alpha/blackline/${TOKEN}`, huge)).statusCode).toBe(413);
    // Written in order: had the strangers' posts counted, the count would pass this one.
    await vi.waitFor(async () => expect(await refused()).toBe(before + 1));
    await new Promise((r) => setImmediate(r));
    expect(await refused()).toBe(before + 1);
  });

  it("is raised over its feed's maxBytes when its token is right (unread, answered with the MD5), refused (413) and kept nowhere when it is wrong", async () => {
    const before = (await alarms()).length;
    const rejected = async () =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM rejected_events')).rows[0]!.n;
    const kept = await rejected();
    // An SOS carrying a long location trail, over the feed's 64 KiB.
    const body = blacklinePush(24480, 'emergency_alert', { device_id: 'BL-9', trail: 'x'.repeat(70_000) });
    const stranger = await post('/hooks/fob/alpha/blackline/not-the-token-0123456789abcdefghij', body);
    expect(stranger.statusCode).toBe(413);
    expect(await alarms()).toHaveLength(before);
    expect(await rejected()).toBe(kept);
    const r = await post(`/hooks/fob/alpha/blackline/${TOKEN}`, body);
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe(createHash('md5').update(body).digest('hex'));
    expect((await alarms()).slice(before)).toEqual([
      { type: 'sos', device_id: '(unreadable device)', raised_at: NOW.toISOString() },
    ]);
    // Sent again (no answer reached Blackline): nothing more.
    expect((await post(`/hooks/fob/alpha/blackline/${TOKEN}`, body)).statusCode).toBe(200);
    expect(await alarms()).toHaveLength(before + 1);
  });

  it('is taken whatever content type it says (Blackline publishes "www-urlencoded-form", no media type): its token tells it', async () => {
    const before = (await alarms()).length;
    for (const [n, type] of [
      [31, 'www-urlencoded-form'],
      [32, 'text/plain'],
      [33, 'application/octet-stream'],
    ] as const)
      expect((await post(`/hooks/fob/alpha/blackline/${TOKEN}`, push(n), type)).statusCode, type).toBe(200);
    expect(await alarms()).toHaveLength(before + 3);
  });

  it('a webhook verified by token needs one fit for an address, and a signed one its secret', () => {
    expect(() =>
      configWith({
        env: { BL_TOKEN: 'short' },
        school: `    fobs:
      transports:
        - { kind: webhook, profile: blackline, verify: address-token, token: "\${BL_TOKEN}" }
`,
      }),
    ).toThrow(/expected 32 to 128 characters/);
    expect(() =>
      configWith({
        school: `    fobs:
      transports:
        - { kind: webhook, profile: blackline, verify: address-token }
`,
      }),
    ).toThrow(/expected the token the address carries/);
    expect(() =>
      configWith({
        school: `    fobs:
      transports:
        - { kind: webhook, profile: blackline }
`,
      }),
    ).toThrow(/expected the Standard Webhooks secret/);
  });
});

/**
 * An alarm from a fob whose clock reset (its time more than 30 days off) is told from a new press
 * by what the transport gives besides its time: with no delivery id (Blackline's push) the bytes
 * alone — never the 2-minute window it happened to arrive in, which a resend 5 minutes later falls
 * outside of. (A Standard Webhooks retry, by its webhook-id: fob-webhook.test.ts.)
 */
describe("Blackline's push of an alarm from a reset clock", () => {
  afterEach(() => {
    clock = NOW;
  });

  it('the same push (same bytes) of a reset-clock alert resent 5 min later is the same alarm', async () => {
    const raw = blacklinePush(777, 'emergency_alert', {
      device_id: 'BL-9',
      date_created: '2000-01-01 00:00:00',
    });
    const before = (await alarms()).length;
    const send = () => post(`/hooks/fob/alpha/blackline/${TOKEN}`, raw, 'application/json');
    expect((await send()).statusCode).toBe(200);
    clock = new Date(NOW.getTime() + 5 * 60_000);
    expect((await send()).statusCode).toBe(200);
    const { rows } = await db.query<{ id: string }>(
      "SELECT a.id FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE e.vendor_event_id = '777'",
    );
    expect(rows).toHaveLength(1);
    expect(await alarms()).toHaveLength(before + 1);
  });
});
