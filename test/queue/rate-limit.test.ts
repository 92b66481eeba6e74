import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimiter } from '../../src/queue/rate-limit.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

/** The sinks' shared rate limit, on the real Redis: slots granted over a span of (given) time. */
const prefix = uniqueName('ratelimit');
let conn: Redis;
beforeAll(async () => {
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
});
afterAll(async () => {
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
});

/** How many of `asks` spread evenly over `spanMs` were let go at once. */
async function granted(
  limiter: RedisRateLimiter,
  key: string,
  perSecond: number,
  spanMs: number,
  asks: number,
) {
  const t0 = Date.parse('2026-12-02T10:00:00Z');
  let n = 0;
  for (let i = 0; i < asks; i++)
    if ((await limiter.acquire(key, perSecond, t0 + (i * spanMs) / asks)) === 0) n++;
  return n;
}

describe('the shared rate limit', () => {
  const limiter = () => new RedisRateLimiter(conn, prefix);
  it('gives at most perSecond slots each second', async () => {
    expect(await granted(limiter(), 'five', 5, 10_000, 200)).toBe(50);
  });
  it('below one a second (0.2: one request every 5 s), one slot per window — not one a second', async () => {
    expect(await granted(limiter(), 'fifth', 0.2, 10_000, 200)).toBe(2);
    const wait = await limiter().acquire('fifth', 0.2, Date.parse('2026-12-02T10:00:01Z'));
    expect(wait).toBeGreaterThanOrEqual(4000);
  });
});
