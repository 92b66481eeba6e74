import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../src/core/standard-webhooks.ts';
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
 * Fob webhooks over a real socket: what can be refused from a request's head is refused before any
 * of its body is sent, and a body is verified as it streams in, whatever its size, never held whole.
 */
const SECRET = `whsec_${Buffer.from('a-test-secret-of-32-bytes-length!').toString('base64')}`;
const TOKEN = 'bl-push-token-0123456789abcdef0123456789';
let now = new Date('2025-11-18T10:02:05Z');
const schema = uniqueName('hookstream');
const prefix = uniqueName('hookstream');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
let port = 0;

// A feed at the largest maxBytes its settings allow (1 MiB), and Blackline's token feed at the default 64 KiB.
const config = configWith({
  env: { FOB_SECRET: SECRET, BL_TOKEN: TOKEN },
  school: `    fobs:
      transports:
        - { kind: webhook, profile: peoplesafe-style, secret: "\${FOB_SECRET}", maxBytes: 1048576 }
        - { kind: webhook, profile: blackline, verify: address-token, token: "\${BL_TOKEN}" }
      devices:
        - { deviceId: PS-0001, staffId: staff-17 }
        - { deviceId: BL-9, staffId: staff-9 }
`,
});

const signatureHeaders = (raw: Buffer, id: string) => {
  const ts = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': signStandardWebhook(SECRET, id, ts, raw),
  };
};
/** A signed post over a real connection (its body streamed in the socket's chunks). */
const signed = async (raw: Buffer, id: string) => {
  const res = await fetch(`http://127.0.0.1:${port}/hooks/fob/alpha/peoplesafe-style`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signatureHeaders(raw, id) },
    body: raw,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};
const count = async (table: string) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

/** A raw connection, its answer collected; `closed` once the server has closed it. */
function rawConnection(): { socket: Socket; answer: Promise<string>; closed: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  let got = '';
  let answered: (s: string) => void = () => {};
  const answer = new Promise<string>((resolve) => {
    answered = resolve;
  });
  socket.on('data', (d) => {
    got += d.toString();
    if (got.includes('\r\n\r\n')) answered(got);
  });
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(got)));
  return { socket, answer, closed };
}

/**
 * Sends only a request's head, declaring a body of `length` bytes that never comes: its answer's
 * status line, and whether the connection was closed after it (the body not waited for).
 */
async function headOnly(path: string, length: number, headers: Record<string, string> = {}) {
  const c = rawConnection();
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  c.socket.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`,
  );
  const answer = await c.answer;
  await c.closed;
  return { status: answer.split('\r\n')[0], connection: /\r\nconnection: close\r\n/i.test(answer) };
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
    fobWebhooks: { config, ingest: { db, producer, prefix }, now: () => now, feedWriteEveryMs: 0 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('fob webhooks, streamed', () => {
  it('refuses what its head tells before any of its body is sent (no body read, held or hashed), the connection closed, nothing kept', async () => {
    const rejected = await count('rejected_events');
    const stale = signatureHeaders(Buffer.from('{}'), 'msg_stale');
    const signedHead = signatureHeaders(Buffer.from('{}'), 'msg_huge');
    expect({
      unsigned: await headOnly('/hooks/fob/alpha/peoplesafe-style', 1_000_000),
      stale: await headOnly('/hooks/fob/alpha/peoplesafe-style', 1_000_000, {
        ...stale,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000) - 3600),
      }),
      wrongToken: await headOnly('/hooks/fob/alpha/blackline/not-the-token-0123456789abcdefghij', 1000),
      wrongTokenOverMaxBytes: await headOnly(
        '/hooks/fob/alpha/blackline/not-the-token-0123456789abcdefghij',
        1_000_000,
      ),
      noSuchSchool: await headOnly('/hooks/fob/nowhere/blackline/x', 1_000_000),
      noToken: await headOnly('/hooks/fob/alpha/blackline', 1_000_000),
      // Signed (as far as its head tells) but declaring more than is read at all.
      overWhatIsRead: await headOnly(
        '/hooks/fob/alpha/peoplesafe-style',
        WEBHOOK_READ_MAX_BYTES + 1,
        signedHead,
      ),
    }).toEqual({
      unsigned: { status: 'HTTP/1.1 401 Unauthorized', connection: true },
      stale: { status: 'HTTP/1.1 401 Unauthorized', connection: true },
      wrongToken: { status: 'HTTP/1.1 401 Unauthorized', connection: true },
      wrongTokenOverMaxBytes: { status: 'HTTP/1.1 413 Payload Too Large', connection: true },
      noSuchSchool: { status: 'HTTP/1.1 404 Not Found', connection: true },
      noToken: { status: 'HTTP/1.1 404 Not Found', connection: true },
      overWhatIsRead: { status: 'HTTP/1.1 413 Payload Too Large', connection: true },
    });
    expect(await count('rejected_events')).toBe(rejected);
  });

  it("raises a verified 1.1 MB SOS over its feed's maxBytes (1 MiB, the most allowed) unread, once; its redelivery is a duplicate", async () => {
    const alarms = await count('alarms');
    const raw = Buffer.from(
      JSON.stringify({
        event_id: 'big-1',
        device: { id: 'PS-0001' },
        type: 'SOS',
        occurred_at: '2025-11-18T10:02:00Z',
        trail: 'x'.repeat(1_100_000),
      }),
    );
    const first = await signed(raw, 'msg_big_1');
    expect(first).toMatchObject({ status: 202, json: { outcome: 'accepted', alarmId: expect.any(String) } });
    const { rows } = await db.query<{ device_id: string; type: string; trust_issue: string; raw: string }>(
      `SELECT a.device_id, a.type, e.trust_issue, e.raw FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE a.id = $1`,
      [first.json.alarmId],
    );
    expect(rows[0]).toMatchObject({ device_id: '(unreadable device)', type: 'sos' });
    expect(rows[0]!.trust_issue).toContain(
      `the body is ${raw.length} bytes, over the 1048576 an event may have`,
    );
    // Only its start kept: the body was never held whole.
    expect(rows[0]!.raw).toBe(raw.subarray(0, 4096).toString());
    const again = await signed(raw, 'msg_big_1');
    expect(again).toMatchObject({ status: 200, json: { outcome: 'duplicate', alarmId: first.json.alarmId } });
    expect(await count('alarms')).toBe(alarms + 1);
  });

  it('refuses a verified-looking body sent without a declared length once past what is read at all (413), and reads no more', async () => {
    const c = rawConnection();
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    c.socket.write(
      `POST /hooks/fob/alpha/peoplesafe-style HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n${Object.entries(
        signatureHeaders(Buffer.from('{}'), 'msg_endless'),
      )
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`,
    );
    let answered = false;
    void c.answer.then(() => {
      answered = true;
    });
    let sent = 0;
    while (!answered && !c.socket.destroyed && sent <= WEBHOOK_READ_MAX_BYTES + chunk.length) {
      const ok = c.socket.write(`${chunk.length.toString(16)}\r\n`) && c.socket.write(chunk);
      c.socket.write('\r\n');
      sent += chunk.length;
      if (!ok) await Promise.race([once(c.socket, 'drain'), c.closed]);
    }
    const answer = await c.closed;
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(answer).toContain(`over ${WEBHOOK_READ_MAX_BYTES} bytes`);
  });

  it('Blackline (no delivery id): the same oversized push sent again later, its first alarm acknowledged meanwhile, raises nothing more', async () => {
    const body = blacklinePush(99001, 'emergency_alert', { device_id: 'BL-9', trail: 'x'.repeat(70_000) });
    const post = () =>
      app.inject({
        method: 'POST',
        url: `/hooks/fob/alpha/blackline/${TOKEN}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: body,
      });
    const alarms = await count('alarms');
    const first = await post();
    expect(first.statusCode).toBe(200);
    expect(first.body).toBe(createHash('md5').update(body).digest('hex'));
    expect(await count('alarms')).toBe(alarms + 1);
    await db.query(
      `UPDATE alarms SET status = 'acknowledged', acknowledged_at = now() WHERE device_id = '(unreadable device)' AND status = 'open'`,
    );
    // Blackline's retry (no answer reached it), minutes on: the same push, not a new press.
    now = new Date(now.getTime() + 3 * 60_000);
    const again = await post();
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe(first.body);
    expect(await count('alarms'), 'the same bytes raised a second SOS').toBe(alarms + 1);
  });
});
