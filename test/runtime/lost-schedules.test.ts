import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { freePort, runCli, testConfig, waitForHttp, writeTempConfig } from '../helpers/spawn.ts';

const schema = uniqueName('lost_schedules');
const prefix = schema.replace(/_/g, '-');
const conn = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
afterAll(async () => {
  await dropRedisPrefix(conn, prefix);
  await dropSchema(schema);
});

async function until(ok: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('repeating jobs lost from Redis', () => {
  it('are put back by the running processes: the visit watcher, the heartbeat and the outbox relay', async () => {
    const port = await freePort();
    const { file } = writeTempConfig(
      `${testConfig({ prefix, port, redisUrl: TEST_REDIS_URL, dataDir: `${process.cwd()}/data/unused`, schema })}
queue: { scheduleCheckMs: 300 }
`,
    );
    const p = runCli(['start', '--config', file], { DATABASE_URL: TEST_DATABASE_URL });
    const producer = new Producer(catalog, conn, prefix);
    const all = async () =>
      (await producer.hasScheduler('watch-visits', 'watch-visits')) &&
      (await producer.hasScheduler('heartbeat', 'heartbeat')) &&
      (await producer.hasScheduler('relay-outbox', 'relay-outbox')) &&
      (await producer.hasScheduler('chase-outcomes', 'chase-outcomes'));
    try {
      await waitForHttp(`http://127.0.0.1:${port}/readyz`, 200, 30_000);
      await until(all, 20_000, 'the schedules at start');
      // Redis loses what it held (a restart without persistence, a flush): every key of this install.
      const keys = await conn.keys(`${prefix}:*`);
      expect(keys.length).toBeGreaterThan(0);
      await conn.del(...keys);
      expect(await producer.hasScheduler('watch-visits', 'watch-visits')).toBe(false);
      // Before: nothing put them back until a restart — no visit watched, no stalled ladder resumed.
      await until(all, 20_000, 'the schedules put back');
      await until(async () => /job schedules missing from Redis/.test(p.stdout()), 5000, 'the error logged');
      // And the watcher runs again (its job completes under the restored schedule).
      await until(
        async () => ((await producer.queueFor('watch-visits').getJobCounts('completed')).completed ?? 0) > 0,
        30_000,
        'the visit watcher to run again',
      );
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
      await producer.close();
    }
  }, 120_000); // a server started and its schedules awaited twice: more than the 30 s default on a loaded machine
});
