import { Redis, type RedisOptions } from 'ioredis';
import type { Secret } from '../core/secret.ts';
import { describeError, doorstepError } from '../errors.ts';

export interface RedisSettings {
  url: string;
  password?: Secret | undefined;
}

/** ioredis options without `retryStrategy`, whose ioredis type BullMQ's option type does not accept. */
export type ConnectionSettings = Omit<RedisOptions, 'retryStrategy'>;

/** How long a producer's command may go unanswered (`commandTimeout`). */
export const PRODUCER_COMMAND_TIMEOUT_MS = 5000;

/**
 * ioredis options for each use, following BullMQ's "going to production" guide:
 * - `worker`: `maxRetriesPerRequest: null` so blocking commands wait out a Redis restart;
 * - `producer`: `enableOfflineQueue: false` so enqueueing fails fast instead of buffering in memory
 *   (an alarm must never sit in a process's memory believing it was queued), and a command timeout.
 */
export function redisOptions(settings: RedisSettings, use: 'worker' | 'producer'): ConnectionSettings {
  const u = new URL(settings.url);
  const base: ConnectionSettings = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(settings.password ? { password: settings.password.reveal() } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    connectionName: `doorstep-${use}`,
  };
  return use === 'worker'
    ? { ...base, maxRetriesPerRequest: null }
    : // A command a silent Redis never answers fails after 5 s (a board event or an alarm's job is
      // then not acknowledged, and redelivered) instead of holding the alarm path until TCP gives up.
      {
        ...base,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
      };
}

/** Opens a producer-side connection and waits until it is ready. */
export async function connectRedis(settings: RedisSettings, use: 'worker' | 'producer'): Promise<Redis> {
  const client = new Redis({ ...redisOptions(settings, use), lazyConnect: true });
  await client.connect();
  return client;
}

/**
 * Start-up check: one connection attempt, no retries. Fails with a single line naming the URL
 * tried (without credentials) and how to start Redis.
 */
export async function assertRedisReachable(settings: RedisSettings, timeoutMs = 3000): Promise<string> {
  const client = new Redis({
    ...redisOptions(settings, 'producer'),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  let lastError: unknown;
  client.on('error', (err) => {
    lastError = err;
  });
  try {
    await client.connect();
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (err) {
    const shown = describeRedisUrl(settings.url);
    const port = new URL(settings.url).port || '6379';
    throw doorstepError(
      'SERVICE_UNAVAILABLE',
      `cannot reach Redis at ${shown} (${describeError(lastError ?? err)}). Start it, e.g. \`redis-server --daemonize yes --port ${port} --appendonly yes --maxmemory-policy noeviction\`, or set redis.url in the config.`,
      { cause: err },
    );
  } finally {
    client.disconnect();
  }
}

export function describeRedisUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname.length > 1 ? u.pathname : ''}`;
}
