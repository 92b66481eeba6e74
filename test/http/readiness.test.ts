import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { storeCheck } from '../../src/runtime/checks.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser, sessionFor, webDeps } from '../helpers/web.ts';

const schema = uniqueName('ready');
const prefix = uniqueName('ready');
const config = configWith();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let trustAdmin: string;
let schoolAdmin: string;
let office: string;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  const down = async () => ({
    name: 'redis',
    ok: false,
    detail: 'redis://10.1.2.3:6379/2: connection refused',
  });
  app = await buildHttpApp({
    log: createLogger({ level: 'silent' }),
    readiness: [down, storeCheck(db)],
    metrics: createMetrics([]),
    queues: [],
    trustProxy: true,
    web: webDeps(config, db, { prefix, publisher: conn }),
  });
  trustAdmin = (await sessionFor(db, await addUser(db, 'trust.admin', ['admin']))).cookie;
  schoolAdmin = (await sessionFor(db, await addUser(db, 'alpha.admin', ['admin'], { schools: ['alpha'] })))
    .cookie;
  office = (await sessionFor(db, await addUser(db, 'office', ['office']))).cookie;
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

const ready = (remoteAddress: string, headers: Record<string, string> = {}) =>
  app.inject({ url: '/readyz', remoteAddress, headers });

describe('/readyz', () => {
  it('tells anyone else only up or down: no hosts, database or schema', async () => {
    for (const res of [
      await ready('203.0.113.5'),
      await ready('127.0.0.1', { 'x-forwarded-for': '203.0.113.5' }), // through a proxy on this machine
      await ready('203.0.113.5', { cookie: office }),
      await ready('203.0.113.5', { cookie: schoolAdmin }),
    ]) {
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'unavailable' });
    }
  });

  it('gives the details to a signed-in trust-wide admin; behind a proxy (trustProxy), never to a peer for being on loopback', async () => {
    const res = await ready('203.0.113.5', { cookie: trustAdmin });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: 'unavailable', down: ['redis'] });
    expect(res.json().checks[0].detail).toContain('10.1.2.3');
    // A local proxy that adds no forwarding header (nginx's default) looks like a local probe.
    for (const local of [await ready('127.0.0.1'), await ready('::1')]) {
      expect(local.statusCode).toBe(503);
      expect(local.json()).toEqual({ status: 'unavailable' });
    }
  });

  it('gives the details to a local probe when no proxy is declared', async () => {
    const direct = await buildHttpApp({
      log: createLogger({ level: 'silent' }),
      readiness: [async () => ({ name: 'redis', ok: false, detail: 'redis://10.1.2.3:6379/2: refused' })],
      metrics: createMetrics([]),
      queues: [],
    });
    try {
      for (const remoteAddress of ['127.0.0.1', '::1']) {
        const res = await direct.inject({ url: '/readyz', remoteAddress });
        expect(res.json()).toMatchObject({ status: 'unavailable', down: ['redis'] });
      }
      const outside = await direct.inject({ url: '/readyz', remoteAddress: '203.0.113.5' });
      expect(outside.json()).toEqual({ status: 'unavailable' });
    } finally {
      await direct.close();
    }
  });
});
