import type { Redis } from 'ioredis';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore, type StoreOptions } from '../../src/store/open.ts';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface BenchServices {
  suffix: string;
  schema: string;
  prefix: string;
  db: Db;
  conn: Redis;
  producer: Producer<typeof catalog>;
  /** Drops the benchmark's schema and Redis keys and closes every connection. */
  close(): Promise<void>;
}

/**
 * A fresh PostgreSQL schema and Redis prefix for one benchmark run, on the real services. `store`:
 * how the role measured opens it (e.g. `INGEST_STORE`, as `doorstep start` does for `ingest`).
 */
export async function openBenchServices(
  name: string,
  store: Pick<StoreOptions, 'keepOpen' | 'prepare'> = {},
): Promise<BenchServices> {
  const suffix = Date.now().toString(36);
  const schema = `bench_${name}_${suffix}`;
  const prefix = `bench-${name}-${suffix}`;
  const db = await openStore({ databaseUrl: DATABASE_URL, dataDir: 'unused', schema, ...store });
  const conn = await connectRedis({ url: REDIS_URL }, 'producer');
  const producer = new Producer(catalog, conn, prefix);
  return {
    suffix,
    schema,
    prefix,
    db,
    conn,
    producer,
    async close() {
      await producer.close();
      const keys = await conn.keys(`${prefix}:*`);
      for (let i = 0; i < keys.length; i += 1000) await conn.del(...keys.slice(i, i + 1000));
      conn.disconnect();
      await db.query(`DROP SCHEMA "${schema}" CASCADE`).catch(() => {});
      await db.close();
    },
  };
}
