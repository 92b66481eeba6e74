import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlers } from '../../jobs/index.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { jobOptions } from '../../src/queue/producer.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { TEST_REDIS_URL } from '../helpers/services.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';
import { until } from '../helpers/wait.ts';

/**
 * The recommended production split is `--role ingest` in one process and `--role web,worker` in
 * another; with PostgreSQL even a plain `doorstep start` runs the worker role in a child process.
 * The heartbeat — the only thing that pings the dead man's switch ("watch the watchers") — runs in
 * the worker role. The ingest role (visit watcher, escalation ladders, notifications) has no HTTP
 * endpoint of its own, so README's advice to watch it "through /ready" cannot be followed.
 *
 * Here nothing runs the alarm path: the visit watcher's scheduled run has waited 10 minutes with no
 * worker on the alarms queue (the ingest process is down or wedged). The heartbeat must not tell
 * the dead man's switch that all is well.
 */
const s = storeAndQueue('dead_man_alarm_path');
const log = createLogger({ level: 'silent' });
const pings: string[] = [];
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    pings.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('OK');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

describe('the dead man’s switch while nothing runs the alarm path', () => {
  it('is not pinged when the visit watcher has not run for 10 minutes and no process serves the alarms queue', async () => {
    const parsed = parseConfigText(
      `
trust: { id: test-trust, name: Test Trust }
heartbeat: { everyMs: 60000, deadManUrl: "\${HC_PING_URL}" }
schools:
  - id: alpha
    name: Alpha Primary
    mis: { kind: sims-xml, dropFolder: ./data/drop/alpha }
    records: { sink: preview }
    policies: [statutory]
`,
      { env: { HC_PING_URL: `${base}/ping/uuid` } },
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const config = parsed.config;

    // The ingest process scheduled the watcher, then stopped: its run has waited ten minutes.
    await s.producer.schedule('watch-visits', 'watch-visits', { everyMs: 15_000 }, { reason: 'schedule' });
    await s.producer
      .queueFor('watch-visits')
      .add(
        'watch-visits',
        { reason: 'schedule' },
        { ...jobOptions(catalog.jobs['watch-visits']), timestamp: Date.now() - 10 * 60_000 },
      );
    const waiting = await s.producer.queueFor('watch-visits').getWaiting();
    expect(waiting.length).toBeGreaterThan(0);
    expect((await s.producer.queueFor('watch-visits').getWorkers()).length).toBe(0);

    // The worker role (its own process, as `doorstep start` with PostgreSQL runs it) beats.
    const host = new WorkerHost({
      catalog,
      handlers,
      deps: { db: s.db, log, now: () => new Date(), instance: 'worker-child', producer: s.producer, config },
      roles: ['worker'],
      redis: { url: TEST_REDIS_URL },
      prefix: s.prefix,
      log,
    });
    host.run();
    try {
      const job = await s.producer.enqueue('heartbeat', { source: 'scheduler' });
      await until(
        async () => {
          const st = await s.producer.queueFor('heartbeat').getJobState(job.id!);
          return st === 'completed' || st === 'failed' || st === 'delayed';
        },
        15_000,
        'the heartbeat to run',
      );
      // Nothing has watched a visit or moved a ladder for ten minutes: the switch must not be told "fine".
      expect(pings).toEqual([]);
    } finally {
      await host.close(1000);
    }
  });
});
