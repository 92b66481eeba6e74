import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { freePort, runCli, testConfig, waitForHttp, writeTempConfig } from '../helpers/spawn.ts';
import { until } from '../helpers/wait.ts';

/**
 * A private Redis (never the shared one) restarted empty — without persistence — under a running
 * `doorstep start` (web + ingest in the parent, worker in its child): every connection is dropped and
 * every key is gone. The visit watcher and the heartbeat must run again by themselves. (Keys lost
 * with the connections kept — a flush — is test/runtime/lost-schedules.test.ts.)
 */
const schema = uniqueName('redis_restart');
const prefix = schema.replace(/_/g, '-');
let redisProc: ChildProcess | undefined;
afterAll(async () => {
  if (redisProc?.exitCode === null) redisProc.kill('SIGTERM');
  await dropSchema(schema);
});

/** A private redis-server on `port`, answering PING. */
async function startRedis(port: number): Promise<ChildProcess> {
  const p = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await until(
    async () => {
      const c = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      c.on('error', () => {});
      try {
        await c.connect();
        return (await c.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        c.disconnect();
      }
    },
    5000,
    'the private redis to start',
    100,
  );
  return p;
}

describe('a Redis restarted empty under a running Doorstep', () => {
  it('the visit watcher and the heartbeat run again by themselves', async () => {
    const redisPort = await freePort();
    redisProc = await startRedis(redisPort);
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const port = await freePort();
    const readyz = `http://127.0.0.1:${port}/readyz`;
    const { file } = writeTempConfig(
      `${testConfig({ prefix, port, redisUrl, dataDir: `${process.cwd()}/data/unused`, schema })}
queue: { scheduleCheckMs: 500 }
`,
    );
    const p = runCli(['start', '--config', file], { DATABASE_URL: TEST_DATABASE_URL });
    const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
    conn.on('error', () => {});
    const producer = new Producer(catalog, conn, prefix);
    const completed = async (name: 'watch-visits' | 'heartbeat') =>
      (await producer.queueFor(name).getJobCounts('completed')).completed ?? 0;
    try {
      await waitForHttp(readyz, 200, 40_000);
      await until(async () => (await completed('watch-visits')) > 0, 40_000, 'the watcher at start');
      await until(async () => (await completed('heartbeat')) > 0, 40_000, 'the heartbeat at start');

      // Redis stops (by its own pid); Doorstep sees it gone (not ready), then it starts again, empty.
      redisProc.kill('SIGTERM');
      await once(redisProc, 'exit');
      await waitForHttp(readyz, 503, 20_000);
      redisProc = await startRedis(redisPort);
      await waitForHttp(readyz, 200, 40_000);

      // Counted from nothing: a completed run is one after the restart.
      await until(async () => (await completed('heartbeat')) > 0, 40_000, 'the heartbeat after the restart');
      await until(async () => (await completed('watch-visits')) > 0, 40_000, 'the watcher after the restart');
      expect(await completed('watch-visits')).toBeGreaterThan(0);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
      await producer.close().catch(() => {});
      conn.disconnect();
      if (!/stopped/.test(p.stdout())) console.log(p.stdout().slice(-3000), p.stderr().slice(-2000));
    }
  }, 180_000);
});
