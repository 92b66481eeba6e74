import type { DoorstepConfig } from '../config/schema.ts';
import { describeError } from '../errors.ts';
import { catalog } from '../queue/catalog.ts';
import { Producer } from '../queue/producer.ts';
import { assertRedisReachable, connectRedis } from '../queue/redis.ts';

/**
 * For CLI commands that change data a job should act on: runs `fn` with a producer when Redis
 * answers, else says the scheduled runs will pick the change up. Returns one line for the user.
 */
export async function withProducerIfReachable(
  config: DoorstepConfig,
  fn: (producer: Producer<typeof catalog>) => Promise<string>,
  fallback: string,
): Promise<string> {
  const redis = { url: config.redis.url, password: config.redis.password };
  try {
    await assertRedisReachable(redis, 2000);
  } catch (err) {
    return `not queued now (${describeError(err).split('. ')[0]}); ${fallback}`;
  }
  const conn = await connectRedis(redis, 'producer');
  const producer = new Producer(catalog, conn, config.redis.prefix);
  try {
    return await fn(producer);
  } finally {
    await producer.close();
    conn.disconnect();
  }
}
