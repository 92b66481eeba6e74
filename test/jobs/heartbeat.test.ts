import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { heartbeat } from '../../jobs/heartbeat.ts';
import { handlers } from '../../jobs/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { listAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const log = createLogger({ level: 'silent' });
const now = () => new Date('2026-11-23T09:30:00Z');
let db: Db;

beforeAll(async () => {
  db = await openStore({ dataDir: 'memory://' });
});
afterAll(() => db.close());

describe('heartbeat job', () => {
  it('writes one audit entry per job, even when a try is repeated', async () => {
    const deps = {
      db,
      log,
      now,
      instance: 'test:1',
      producer: undefined as never,
      config: configWith(),
    } satisfies JobDeps;
    const run = {
      id: 'hb-1',
      name: 'heartbeat',
      attempt: 1,
      maxAttempts: 3,
      signal: new AbortController().signal,
    };
    const first = await heartbeat({ source: 'test' }, run, deps);
    const again = await heartbeat({ source: 'test' }, { ...run, attempt: 2 }, deps);
    expect(again).toEqual(first);
    const entries = await listAudit(db, { action: 'heartbeat', entityId: 'hb-1' });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: 'system:heartbeat',
      entityType: 'job',
      after: { source: 'test', instance: 'test:1', at: '2026-11-23T09:30:00.000Z', attempt: 1 },
    });
  });

  it('runs through the real catalog, Redis and worker host into the store', async () => {
    const prefix = uniqueName('hb');
    const conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
    const producer = new Producer(catalog, conn, prefix);
    const host = new WorkerHost({
      catalog,
      handlers,
      deps: { db, log, now, instance: 'test:2', producer, config: configWith() },
      roles: ['worker'],
      redis: { url: TEST_REDIS_URL },
      prefix,
      log,
    });
    host.run();
    try {
      const job = await producer.enqueue('heartbeat', { source: 'integration', schoolId: 'alpha' });
      const end = Date.now() + 10_000;
      let entries = await listAudit(db, { entityId: String(job.id) });
      while (entries.length === 0 && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
        entries = await listAudit(db, { entityId: String(job.id) });
      }
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        schoolId: 'alpha',
        after: { source: 'integration', instance: 'test:2' },
      });
    } finally {
      await host.close(1000);
      const keys = await conn.keys(`${prefix}:*`);
      if (keys.length) await conn.del(...keys);
      await producer.close();
      conn.disconnect();
    }
  });
});
