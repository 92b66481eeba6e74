import type { Redis } from 'ioredis';

/**
 * A per-key rate limit shared by every Doorstep process through Redis: at most `perSecond` slots in
 * each wall-clock second (a fraction above 1 rounded down) — or, below one a second (a vendor's "one
 * request every 5 seconds": 0.2), one slot in each window of 1/`perSecond` seconds. `acquire` returns
 * 0 when the caller may go now, or the milliseconds to wait.
 */
export class RedisRateLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  async acquire(key: string, perSecond: number, now = Date.now()): Promise<number> {
    const windowMs = perSecond >= 1 ? 1000 : Math.ceil(1000 / perSecond);
    const slots = perSecond >= 1 ? Math.floor(perSecond) : 1;
    const window = Math.floor(now / windowMs);
    const k = `${this.prefix}:rate:${key}:${windowMs}:${window}`;
    const [[, n]] = (await this.redis
      .multi()
      .incr(k)
      .pexpire(k, 2 * windowMs)
      .exec()) as [[null, number], [null, number]];
    if (n <= slots) return 0;
    return (window + 1) * windowMs - now + Math.floor(Math.random() * 50);
  }
}
