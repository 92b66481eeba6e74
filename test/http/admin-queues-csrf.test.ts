import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secret.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

/**
 * The queue dashboard authenticates with HTTP Basic, which a browser attaches to a cross-site form
 * post (SameSite does not apply to it), and a text/plain form needs no CORS preflight: such a post
 * must add no job (bull-board answers 400, its other changing routes are PUT/PATCH). Written by a
 * review that found it held; kept so it goes on holding.
 */
const prefix = uniqueName('queuescsrf');
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
const right = `Basic ${Buffer.from('admin:correct horse battery').toString('base64')}`;

beforeAll(async () => {
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  const queues = [...producer.queues.values()];
  app = await buildHttpApp({
    log: createLogger({ level: 'silent' }),
    readiness: [],
    metrics: createMetrics(queues),
    queues,
    admin: { username: 'admin', password: new Secret('correct horse battery', 'env:T') },
  });
});
afterAll(async () => {
  await app.close();
  const keys = await conn.keys(`${prefix}:*`);
  if (keys.length) await conn.del(...keys);
  await producer.close();
  conn.disconnect();
});

describe('the queue dashboard refuses what a cross-site form can send', () => {
  it('a text/plain POST (no preflight) with the cached Basic credential adds no job', async () => {
    const q = [...producer.queues.values()].find((x) => !['alarms', 'notify'].includes(x.name))!;
    const before = await q.count();
    const res = await app.inject({
      method: 'POST',
      url: `/admin/queues/api/queues/${encodeURIComponent(q.name)}/add`,
      headers: {
        authorization: right,
        'content-type': 'text/plain',
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
      payload: '{"name":"x","data":{}}',
    });
    const after = await q.count();
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(after).toBe(before);
  });
});
