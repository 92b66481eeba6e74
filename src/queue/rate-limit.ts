import type { Redis } from 'ioredis';

/**
 * A per-key rate limit shared by every Doorstep process through Redis: at most `perSecond` slots in
 * each wall-clock second. `acquire` returns 0 when the caller may go now, or the milliseconds to wait.
 */
export class RedisRateLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  async acquire(key: string, perSecond: number, now = Date.now()): Promise<number> {
    const second = Math.floor(now / 1000);
    const k = `${this.prefix}:rate:${key}:${second}`;
    const [[, n]] = (await this.redis.multi().incr(k).pexpire(k, 2000).exec()) as [
      [null, number],
      [null, number],
    ];
    if (n <= Math.max(1, Math.floor(perSecond))) return 0;
    return (second + 1) * 1000 - now + Math.floor(Math.random() * 50);
  }
}
