import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { dropRedisPrefix } from './redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from './services.ts';

/** A test file's own PostgreSQL schema and Redis prefix, with a job producer on them. */
export interface StoreAndQueue {
  schema: string;
  prefix: string;
  db: Db;
  conn: Redis;
  producer: Producer<typeof catalog>;
}

/**
 * Opens a store in a schema of its own and a producer under a Redis prefix of its own before the
 * file's tests, and drops both after them. The fields are filled in by the time a test runs.
 */
export function storeAndQueue(label: string): StoreAndQueue {
  const s = {
    schema: uniqueName(label),
    prefix: uniqueName(label).replace(/_/g, '-'),
  } as StoreAndQueue;
  beforeAll(async () => {
    s.db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: s.schema });
    s.conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
    s.producer = new Producer(catalog, s.conn, s.prefix);
  });
  afterAll(async () => {
    await s.producer.close();
    await dropRedisPrefix(s.conn, s.prefix);
    s.conn.disconnect();
    await s.db.close();
    await dropSchema(s.schema);
  });
  return s;
}
