import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secret.ts';
import {
  ADMIN_FAILURE_WINDOW_MS,
  ADMIN_FAILURES_ALLOWED,
  ADMIN_FAILURES_ALLOWED_ALL,
  AdminFailures,
  guessSource,
} from '../../src/http/admin-queues.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { redisCheck, storeCheck } from '../../src/runtime/checks.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const log = createLogger({ level: 'silent' });
const prefix = uniqueName('http');
const schema = uniqueName('http');
let conn: Redis;
let db: Db;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
let adminApp: FastifyInstance;

async function build(admin?: { username: string; password: Secret }, redis: Redis = conn) {
  const queues = [...producer.queues.values()];
  return buildHttpApp({
    log,
    readiness: [redisCheck(redis, 'redis://test', 500), storeCheck(db)],
    metrics: createMetrics(queues),
    queues,
    admin,
  });
}

beforeAll(async () => {
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  producer = new Producer(catalog, conn, prefix);
  app = await build();
  adminApp = await build({ username: 'admin', password: new Secret('correct horse battery', 'env:T') });
});

afterAll(async () => {
  await app.close();
  await adminApp.close();
  const keys = await conn.keys(`${prefix}:*`);
  if (keys.length) await conn.del(...keys);
  await producer.close();
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe('http app', () => {
  it('answers /healthz without touching dependencies', async () => {
    const r = await app.inject('/healthz');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ok' });
  });

  it('is ready when Redis and Postgres answer', async () => {
    const r = await app.inject('/readyz');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ status: 'ready', down: [] });
  });

  it('answers 503 naming Redis when Redis is unreachable', async () => {
    const dead = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const broken = await build(undefined, dead);
    const r = await broken.inject('/readyz');
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ status: 'unavailable', down: ['redis'] });
    expect(r.json().checks[0].detail).toMatch(/^redis:\/\/test: /);
    await broken.close();
    dead.disconnect();
  });

  it('answers a database failure with neither its code nor its message, and a value it refused as a 400', async () => {
    const a = await build();
    a.get('/t/missing-table', () => db.query('SELECT * FROM no_such_table'));
    a.get('/t/bad-value', () => db.query('SELECT $1::bigint', ['99999999999999999999']));
    const failed = await a.inject('/t/missing-table');
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toEqual({ code: 'DOORSTEP_INTERNAL', message: 'internal error' });
    const refused = await a.inject('/t/bad-value');
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({
      code: 'DOORSTEP_BAD_REQUEST',
      message: 'a value in the request is not valid',
    });
    await a.close();
  });

  // Found by review: two requests that met on the same rows (the office resolving an alarm while the
  // worker set a new return time) deadlocked, and the one PostgreSQL gave up was answered 500.
  it('answers a deadlock or a serialization failure 503 with Retry-After: 1 — nothing changed, try again — never 500', async () => {
    const a = await build();
    for (const state of ['40P01', '40001'])
      a.get(`/t/${state}`, () =>
        db.query(`DO $$ BEGIN RAISE EXCEPTION 'given up' USING ERRCODE = '${state}'; END $$`),
      );
    for (const state of ['40P01', '40001']) {
      const r = await a.inject(`/t/${state}`);
      expect(r.statusCode, state).toBe(503);
      expect(r.headers['retry-after']).toBe('1');
      expect(r.json()).toEqual({
        code: 'DOORSTEP_SERVICE_UNAVAILABLE',
        message:
          'another change to the same record was being made at the same moment, so nothing was changed: try again',
      });
    }
    await a.close();
  });

  it('exposes process metrics and queue depths', async () => {
    await producer.enqueue('heartbeat', { source: 'test' }, { delayMs: 60_000 });
    const r = await app.inject('/metrics');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body).toMatch(/^doorstep_process_cpu_seconds_total \d/m);
    expect(r.body).toContain('doorstep_queue_jobs{queue="maintenance",state="delayed"} 1');
    expect(r.body).toContain('doorstep_queue_jobs{queue="maintenance",state="waiting"} 0');
  });

  it("serves metrics (an alarm escalating, a school's feed down) to a local probe or the metrics token only", async () => {
    const far = { url: '/metrics', remoteAddress: '203.0.113.7' };
    expect((await app.inject(far)).statusCode).toBe(401);
    // Through a proxy on this machine: not a local probe either.
    expect(
      (await app.inject({ url: '/metrics', headers: { 'x-forwarded-for': '203.0.113.7' } })).statusCode,
    ).toBe(401);
    const queues = [...producer.queues.values()];
    const withToken = await buildHttpApp({
      log,
      readiness: [],
      metrics: createMetrics(queues),
      queues,
      metricsToken: new Secret('scrape-token-0123456789', 'env:M'),
    });
    try {
      expect(
        (await withToken.inject({ ...far, headers: { authorization: 'Bearer wrong' } })).statusCode,
      ).toBe(401);
      const ok = await withToken.inject({
        ...far,
        headers: { authorization: 'Bearer scrape-token-0123456789' },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toMatch(/^doorstep_process_cpu_seconds_total \d/m);
    } finally {
      await withToken.close();
    }
  });

  it('does not serve the queue admin UI unless a credential is configured', async () => {
    expect((await app.inject('/admin/queues')).statusCode).toBe(404);
  });

  it('guards the queue admin UI with basic auth', async () => {
    expect((await adminApp.inject('/admin/queues')).statusCode).toBe(401);
    const wrong = Buffer.from('admin:wrong').toString('base64');
    expect(
      (await adminApp.inject({ url: '/admin/queues', headers: { authorization: `Basic ${wrong}` } }))
        .statusCode,
    ).toBe(401);
    const right = Buffer.from('admin:correct horse battery').toString('base64');
    const ok = await adminApp.inject({ url: '/admin/queues', headers: { authorization: `Basic ${right}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('<html');
    const api = await adminApp.inject({
      url: '/admin/queues/api/queues',
      headers: { authorization: `Basic ${right}` },
    });
    expect(api.statusCode).toBe(200);
    expect(JSON.stringify(api.json())).toContain('maintenance');
  });

  it('shows the alarm path’s queues read-only: pausing the alarms queue (every ladder step, the visit watch) is refused', async () => {
    const right = Buffer.from('admin:correct horse battery').toString('base64');
    const pause = await adminApp.inject({
      method: 'PUT',
      url: '/admin/queues/api/queues/alarms/pause',
      headers: { authorization: `Basic ${right}` },
    });
    expect(pause.statusCode).toBeGreaterThanOrEqual(400);
    expect(await producer.queueFor('escalate').isPaused()).toBe(false);
  });

  it('counts an IPv6 /64 as one guesser, and all guessers together: a new address per guess is no way round the limit', async () => {
    const failures = new AdminFailures();
    const t0 = 1_000_000;
    for (let i = 1; i <= ADMIN_FAILURES_ALLOWED; i++) failures.failed(`2001:db8:1:2::${i.toString(16)}`, t0);
    expect(failures.blocked('2001:db8:1:2:ffff:ffff:ffff:ffff', t0)).toBe(true);
    expect(failures.blocked('2001:0db8:0001:0002::9', t0)).toBe(true);
    expect(failures.blocked('2001:db8:1:3::1', t0)).toBe(false);
    expect(failures.blocked('::ffff:203.0.113.7', t0)).toBe(false);
    expect(guessSource('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(guessSource('2001:db8::1')).toBe('2001:db8:0:0::/64');
    // Many sources, each under its own limit: together they close the dashboard until the window ends.
    for (let i = 0; i < ADMIN_FAILURES_ALLOWED_ALL; i++)
      failures.failed(`198.51.${i >> 8}.${i & 255}`, t0 + 1);
    expect(failures.blocked('203.0.113.200', t0 + 2)).toBe(true);
    expect(failures.blocked('203.0.113.200', t0 + 1 + ADMIN_FAILURE_WINDOW_MS)).toBe(false);
    // Through the app: 200 guesses from one /64, a new address each, then the right password.
    const right = Buffer.from('admin:correct horse battery').toString('base64');
    let limited = 0;
    for (let i = 1; i <= 2 * ADMIN_FAILURES_ALLOWED; i++) {
      const r = await adminApp.inject({
        url: '/admin/queues/api/queues',
        remoteAddress: `2001:db8:7:7::${i.toString(16)}`,
        headers: { authorization: `Basic ${Buffer.from(`admin:guess-${i}`).toString('base64')}` },
      });
      if (r.statusCode === 429) limited++;
    }
    expect(limited).toBe(ADMIN_FAILURES_ALLOWED);
    const then = await adminApp.inject({
      url: '/admin/queues/api/queues',
      remoteAddress: '2001:db8:7:7::ffff',
      headers: { authorization: `Basic ${right}` },
    });
    expect(then.statusCode).toBe(429);
  });

  it('refuses an address that keeps guessing (429), even with the right password, until its window ends', async () => {
    const guess = (n: number) => Buffer.from(`admin:guess-${n}`).toString('base64');
    const from = (auth: string) =>
      adminApp.inject({
        url: '/admin/queues/api/queues',
        remoteAddress: '203.0.113.9',
        headers: { authorization: `Basic ${auth}` },
      });
    for (let i = 0; i < ADMIN_FAILURES_ALLOWED; i++) expect((await from(guess(i))).statusCode).toBe(401);
    const right = Buffer.from('admin:correct horse battery').toString('base64');
    expect((await from(right)).statusCode).toBe(429);
    // Another address is not held up by it.
    expect(
      (
        await adminApp.inject({
          url: '/admin/queues/api/queues',
          headers: { authorization: `Basic ${right}` },
        })
      ).statusCode,
    ).toBe(200);
  });
});
