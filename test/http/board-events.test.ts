import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import type { FobEvent } from '../../src/domain/fob/event.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const schema = uniqueName('board');
const prefix = uniqueName('board');
const config = configWith();
const school = config.schools[0]!;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
let base: string;

const event = (n: number): FobEvent => fobEvent(`board-${n}`, { occurredAt: '2025-11-18T10:02:00Z' });

/** Reads SSE frames from a stream until `count` events have arrived. */
async function readEvents(
  res: Response,
  count: number,
): Promise<{ id: string; event: string; data: Record<string, unknown> }[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const out: { id: string; event: string; data: Record<string, unknown> }[] = [];
  while (out.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let i = buf.indexOf('\n\n');
    while (i >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const fields = Object.fromEntries(
        block
          .split('\n')
          .filter((l) => /^(id|event|data): /.test(l))
          .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
      );
      if (fields.data && fields.event !== 'heartbeat')
        out.push({ id: fields.id!, event: fields.event!, data: JSON.parse(fields.data) });
      i = buf.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return out;
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
    boardEvents: {
      config,
      db,
      subscriber: await connectRedis({ url: TEST_REDIS_URL }, 'worker'),
      prefix,
      heartbeatMs: 300,
    },
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('board live events (SSE)', () => {
  it('tells an open board of a new alarm at once', async () => {
    const res = await fetch(`${base}/board/events?school=alpha`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reading = readEvents(res, 1);
    await new Promise((r) => setTimeout(r, 100));
    const r = await ingestFobEvent({ db, producer, publisher: conn, prefix }, school, event(1), {
      transport: 'webhook',
      profile: 'peoplesafe-style',
      raw: Buffer.from('{}'),
    });
    const [e] = await reading;
    expect(e).toMatchObject({
      event: 'alarm.raised',
      data: {
        schoolId: 'alpha',
        alarmId: (r as { alarmId: string }).alarmId,
        type: 'sos',
        vendorEventId: 'board-1',
      },
    });
  });

  it('sends an open board a heartbeat it can see (a named event, not a comment), so a hung stream is noticed', async () => {
    const res = await fetch(`${base}/board/events?school=alpha`);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: heartbeat\ndata: {}\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    expect(text).toContain('event: heartbeat\ndata: {}\n\n');
  });

  it('catches a reconnecting board up from its Last-Event-ID, missing nothing', async () => {
    const first = await readEvents(await fetch(`${base}/board/events?school=alpha`), 1);
    const lastId = first[0]!.id;
    // Alarms raised while the board was away.
    for (const n of [2, 3, 4]) {
      await ingestFobEvent({ db, producer, publisher: conn, prefix }, school, event(n), {
        transport: 'webhook',
        profile: 'peoplesafe-style',
        raw: Buffer.from('{}'),
      });
    }
    const res = await fetch(`${base}/board/events?school=alpha`, { headers: { 'last-event-id': lastId } });
    // The catch-up replays a few seconds before the last id too (late commits); the board dedupes by id.
    const caughtUp = (await readEvents(res, 4)).filter((e) => e.id !== lastId);
    expect(caughtUp.map((e) => e.data.vendorEventId)).toEqual(['board-2', 'board-3', 'board-4']);
  });

  it('delivers an event whose transaction committed after a later id was already sent', async () => {
    const res = await fetch(`${base}/board/events?school=alpha&lastEventId=999999`);
    const reading = readEvents(res, 2);
    await new Promise((r) => setTimeout(r, 100));
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let slowId = '';
    const slow = db.transaction(async (tx) => {
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO board_events (school_id, type, payload) VALUES ('alpha', 'alarm.raised', '{"vendorEventId":"slow"}') RETURNING id`,
      );
      slowId = String(rows[0]!.id);
      await gate;
    });
    await new Promise((r) => setTimeout(r, 50));
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO board_events (school_id, type, payload) VALUES ('alpha', 'alarm.raised', '{"vendorEventId":"fast"}') RETURNING id`,
    );
    const fastId = String(rows[0]!.id);
    const publish = (id: string, v: string) =>
      conn.publish(
        `${prefix}:board`,
        JSON.stringify({ id, schoolId: 'alpha', type: 'alarm.raised', payload: { vendorEventId: v } }),
      );
    await publish(fastId, 'fast');
    release();
    await slow;
    await publish(slowId, 'slow');
    expect(Number(slowId)).toBeLessThan(Number(fastId));
    expect((await reading).map((e) => e.data.vendorEventId)).toEqual(['fast', 'slow']);
  });

  it('refuses an unknown school', async () => {
    expect((await fetch(`${base}/board/events?school=nowhere`)).status).toBe(404);
  });

  it('refuses a Last-Event-ID no event can have before opening the stream, and a repeated parameter', async () => {
    const huge = await fetch(`${base}/board/events?school=alpha`, {
      headers: { 'last-event-id': '1'.repeat(23) },
    });
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as { message: string }).message).toContain('Last-Event-ID');
    const twice = await fetch(`${base}/board/events?school=alpha&school=alpha`);
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { message: string }).message).toBe('school: expected one value, got 2');
  });
});
