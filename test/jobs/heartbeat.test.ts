import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { heartbeat, pingDeadMan } from '../../jobs/heartbeat.ts';
import { handlers } from '../../jobs/index.ts';
import { parseConfigText } from '../../src/config/load.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { Secret } from '../../src/core/secret.ts';
import { retryClassOf } from '../../src/errors.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { jobOptions, Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { listAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';

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

describe('heartbeat: the dead man’s switch', () => {
  const pings: { method: string; path: string }[] = [];
  let answer = 200;
  let server: Server;
  let base = '';
  // The alarm path's queues, empty (nothing overdue): the beat is free to ping.
  let producer: Producer<typeof catalog>;
  let conn: Awaited<ReturnType<typeof connectRedis>>;
  const prefix = uniqueName('hb_ping');
  beforeAll(async () => {
    conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
    producer = new Producer(catalog, conn, prefix);
    // A healthchecks-style ping endpoint: GET /ping/<uuid> answers 200 "OK"; an unknown uuid 404.
    server = createServer((req, res) => {
      pings.push({ method: req.method ?? '', path: req.url ?? '' });
      const known = req.url === '/ping/5f1c0d2e-secret-uuid';
      res.writeHead(known ? answer : 404, { 'content-type': 'text/plain' });
      res.end(known && answer === 200 ? 'OK' : 'not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await producer.close();
    await dropRedisPrefix(conn, prefix);
    await new Promise((r) => server.close(r));
  });

  /** The config as a deployment writes it: the URL is a secret from the environment. */
  function configPinging(path: string) {
    const r = parseConfigText(
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
      { env: { HC_PING_URL: `${base}${path}` } },
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.config;
  }
  const run = (id: string) => ({
    id,
    name: 'heartbeat',
    attempt: 1,
    maxAttempts: 3,
    signal: new AbortController().signal,
  });
  const depsWith = (config: DoorstepConfig) =>
    ({ db, log, now: () => new Date(), instance: 'test:1', producer, config }) satisfies JobDeps;

  it('pings the URL once per beat, after the beat reached the store; the URL never shows in the config', async () => {
    const config = configPinging('/ping/5f1c0d2e-secret-uuid');
    expect(JSON.stringify(config.heartbeat)).not.toContain('secret-uuid');
    const before = pings.length;
    expect(await heartbeat({ source: 'test' }, run('hb-ping-1'), depsWith(config))).toMatchObject({
      pinged: true,
    });
    expect(pings.slice(before)).toEqual([{ method: 'GET', path: '/ping/5f1c0d2e-secret-uuid' }]);
    expect(await listAudit(db, { action: 'heartbeat', entityId: 'hb-ping-1' })).toHaveLength(1);
  });

  it('reads failures like every outbound call: 5xx and no answer are retried, a wrong URL is not; the origin only is shown', async () => {
    answer = 503;
    const down = await heartbeat(
      { source: 'test' },
      run('hb-ping-2'),
      depsWith(configPinging('/ping/5f1c0d2e-secret-uuid')),
    ).catch((e: unknown) => e);
    expect(retryClassOf(down)).toBe('transient');
    expect((down as Error).message).toBe(`${base}: HTTP 503`);
    answer = 200;
    const wrong = await heartbeat(
      { source: 'test' },
      run('hb-ping-3'),
      depsWith(configPinging('/ping/revoked')),
    ).catch((e: unknown) => e);
    expect(retryClassOf(wrong)).toBe('config');
    expect((wrong as { code: string }).code).toBe('DOORSTEP_DEAD_MAN_REFUSED');
    const closed = await pingDeadMan(new Secret('http://127.0.0.1:1/ping/x', 'env:X')).catch(
      (e: unknown) => e,
    );
    expect((closed as { code: string }).code).toBe('DOORSTEP_DEAD_MAN_UNAVAILABLE');
    expect((closed as Error).message).not.toContain('/ping/x');
    // A URL with a user and password in it: fetch refuses it quoting the whole URL; none of it is shown.
    const withUser = await pingDeadMan(
      new Secret('https://ping:S3cretPing@127.0.0.1:9/ping', 'env:HC'),
    ).catch((e: unknown) => e);
    expect((withUser as { code: string }).code).toBe('DOORSTEP_DEAD_MAN_UNAVAILABLE');
    expect((withUser as Error).message).not.toMatch(/S3cretPing|ping:/);
    expect((withUser as Error).message).toContain('https://127.0.0.1:9');
    // The beat itself was kept each time: the store part of the path works.
    expect(await listAudit(db, { action: 'heartbeat', entityId: 'hb-ping-2' })).toHaveLength(1);
  });

  /**
   * The recommended production split is `--role ingest` in one process and `--role web,worker` in
   * another; with PostgreSQL even a plain `doorstep start` runs the worker role in a child process.
   * The heartbeat — the only thing that pings the switch ("watch the watchers") — runs in the worker
   * role; the ingest role (visit watcher, escalation ladders, notifications) has no HTTP endpoint of
   * its own. With the ingest process down or wedged, the beat must not tell the switch all is well.
   */
  it('is not pinged when the visit watcher has not run for 10 minutes and no process serves the alarms queue', async () => {
    const config = configPinging('/ping/5f1c0d2e-secret-uuid');
    const watch = producer.queueFor('watch-visits');
    // The ingest process scheduled the watcher, then stopped: its run has waited ten minutes.
    await producer.schedule('watch-visits', 'watch-visits', { everyMs: 15_000 }, { reason: 'schedule' });
    await watch.add(
      'watch-visits',
      { reason: 'schedule' },
      { ...jobOptions(catalog.jobs['watch-visits']), timestamp: Date.now() - 10 * 60_000 },
    );
    expect((await watch.getWaiting()).length).toBeGreaterThan(0);
    expect((await watch.getWorkers()).length).toBe(0);

    // The worker role (its own process, as `doorstep start` with PostgreSQL runs it) beats.
    const host = new WorkerHost({
      catalog,
      handlers,
      deps: { ...depsWith(config), instance: 'worker-child' },
      roles: ['worker'],
      redis: { url: TEST_REDIS_URL },
      prefix,
      log,
    });
    host.run();
    const before = pings.length;
    try {
      const job = await producer.enqueue('heartbeat', { source: 'scheduler' });
      await until(
        async () => {
          const st = await producer.queueFor('heartbeat').getJobState(job.id!);
          return st === 'completed' || st === 'failed' || st === 'delayed';
        },
        15_000,
        'the heartbeat to run',
      );
      // Nothing has watched a visit or moved a ladder for ten minutes: the switch must not be told "fine".
      expect(pings.slice(before)).toEqual([]);
    } finally {
      await host.close(1000);
      // The alarm path's queues empty again for the beats of the other tests.
      await watch.removeJobScheduler('watch-visits');
      await watch.obliterate({ force: true });
    }
  });
});
