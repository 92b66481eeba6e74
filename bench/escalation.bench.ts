/**
 * npm run bench:escalation — from an alarm accepted (durably written, ladder queued) to every
 * level-1 notification handed to its channel (board event written; signed webhook received), at 200
 * alarms/s for 10 s: p50/p99. Baseline in the same run: a bare BullMQ round trip (enqueue → a worker
 * runs a no-op job) at the same rate, the floor any queued step pays (the first step no longer pays
 * it: the ingest role takes it in-process right after the commit, its job queued delayed as the
 * safety net; later steps and retries do). Target: p99 ≤ baseline p99 + 10 ms (`p99OverBaselineMs`). The board's hand-over is timed on the board's Redis channel (what
 * every web process hears, after the commit); the webhook's when the request arrives.
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, Worker } from 'bullmq';
import pg from 'pg';
import { type escalate, firstStepHere } from '../jobs/escalate.ts';
import { handlers } from '../jobs/index.ts';
import { ingestFobEvent } from '../src/alarms/ingest.ts';
import { INGEST_STORE, prepareIngestStore } from '../src/alarms/ingest-groups.ts';
import { createLogger } from '../src/log/logger.ts';
import { catalog } from '../src/queue/catalog.ts';
import { connectRedis, redisOptions } from '../src/queue/redis.ts';
import { WorkerHost } from '../src/queue/worker-host.ts';
import { boardChannel } from '../src/store/board.ts';
import { configWith } from '../test/helpers/config.ts';
import { fobEvent } from '../test/helpers/fob.ts';
import { printResult, printTable, round } from './lib/report.ts';
import { type ServerActivity, watchServer } from './lib/server-activity.ts';
import { DATABASE_URL, openBenchServices, REDIS_URL } from './lib/services.ts';

// The alarm is accepted and its ladder run in one process, as the ingest role does (its workers run
// the escalation, and it takes a new alarm's first step itself right after the commit —
// `firstStepHere`): the store opened as `doorstep start` opens it for that role.
const services = await openBenchServices('escalation', INGEST_STORE);
const { suffix, prefix, db, conn, producer } = services;
await prepareIngestStore(db);

const RATE = 200;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const N = RATE * SECONDS;
const SECRET = `whsec_${Buffer.from('bench-escalation-secret-000000').toString('base64')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN;
const log = createLogger({ level: 'silent' });

// The ops webhook: records when each alarm's level-1 message arrives.
const webhookAt = new Map<string, number>();
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const m = /"alarmId":"(\d+)","schoolId":"alpha","step":0/.exec(Buffer.concat(chunks).toString());
    if (m) webhookAt.set(m[1]!, performance.now());
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ops`;

const config = configWith({
  env: { OPS_SECRET: SECRET },
  school: `    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [board, webhook:ops] }
          - { afterMinutes: 2, notify: [board] }
    channels:
      webhook: { url: "${hookUrl}", secret: "\${OPS_SECRET}" }
`,
});
const school = config.schools[0]!;
const deps = { db, log, producer, now: () => new Date(), instance: 'bench', config, publisher: conn };
// BENCH_TRACE=1: when each alarm's escalate job and each notify job started and ended.
const TRACE = process.env.BENCH_TRACE === '1';
const jobTimes = {
  escalate: new Map<string, [number, number]>(),
  notify: new Map<string, [number, number]>(),
};
const traced = TRACE
  ? {
      ...handlers,
      escalate: async (p: { alarmId: string; step: number }, run: never, d: never) => {
        const t0 = performance.now();
        const r = await handlers.escalate!(p as never, run, d);
        // The first step's time (taken here after the commit; its delayed safety-net job is not it).
        if (p.step === 0 && !jobTimes.escalate.has(p.alarmId))
          jobTimes.escalate.set(p.alarmId, [t0, performance.now()]);
        return r;
      },
      notify: async (p: { notificationId: string }, run: never, d: never) => {
        const t0 = performance.now();
        const r = await handlers.notify!(p as never, run, d);
        jobTimes.notify.set(p.notificationId, [t0, performance.now()]);
        return r;
      },
    }
  : handlers;
const host = new WorkerHost({
  catalog,
  handlers: traced as typeof handlers,
  deps,
  roles: ['ingest'],
  redis: { url: REDIS_URL },
  prefix,
  log,
});

// A probe beside each phase (bench/lib/server-activity.ts): a bare commit every 100 ms, its slowest
// printed — whether the server stalled in the seconds of the baseline or of the alarms.
const watchPool = new pg.Pool({
  connectionString: DATABASE_URL,
  max: 1,
  options: `-c search_path=${services.schema}`,
});
await watchPool.query(
  'CREATE TABLE probe_commits (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now())',
);
const PROBE = 'INSERT INTO probe_commits DEFAULT VALUES';
let baselineServer: ServerActivity | undefined;
let alarmsServer: ServerActivity | undefined;

try {
  // Baseline: bare BullMQ round trip at the same rate.
  const rtQueue = new Queue(`rt-${suffix}`, { connection: conn, prefix });
  const started = new Map<string, number>();
  const ran = new Map<string, number>();
  const rtWorker = new Worker(
    `rt-${suffix}`,
    async (job) => {
      ran.set(job.id!, performance.now());
    },
    { connection: redisOptions({ url: REDIS_URL }, 'worker'), prefix, concurrency: 16 },
  );
  await rtWorker.waitUntilReady();
  const baselineRun = await watchServer(
    watchPool,
    PROBE,
    async () => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) {
        const wait = t0 + (i * 1000) / RATE - performance.now();
        if (wait > 1) await sleep(wait);
        started.set(`rt${i}`, performance.now());
        await rtQueue.add('noop', {}, { jobId: `rt${i}` });
      }
      while (ran.size < N) await sleep(20);
    },
    () => N,
  );
  baselineServer = baselineRun.server;
  const rt = [...started].map(([id, t]) => ran.get(id)! - t);
  await rtWorker.close();
  await rtQueue.obliterate({ force: true });
  await rtQueue.close();

  // Doorstep: accept alarms at 200/s; the ingest role's workers run the ladder. The board's
  // level-1 events are timed where every web process hears them: the board's Redis channel.
  const boardAt = new Map<string, number>();
  const boardSub = await connectRedis({ url: REDIS_URL }, 'worker');
  await boardSub.subscribe(boardChannel(config.redis.prefix)); // where jobs publish
  boardSub.on('message', (_c, m) => {
    const e = JSON.parse(m) as { type: string; payload: { alarmId?: string; step?: number } };
    if (e.type === 'alarm.escalated' && e.payload.step === 0 && e.payload.alarmId)
      boardAt.set(e.payload.alarmId, performance.now());
  });
  host.run();
  await host.waitUntilReady();
  const firstStep = firstStepHere(deps, (traced as typeof handlers).escalate as typeof escalate);
  const accepted = new Map<string, number>();
  const alarmsRun = await watchServer(
    watchPool,
    PROBE,
    async () => {
      const t1 = performance.now();
      for (let i = 0; i < N; i++) {
        const wait = t1 + (i * 1000) / RATE - performance.now();
        if (wait > 1) await sleep(wait);
        const r = await ingestFobEvent(
          { db, producer, publisher: conn, prefix, firstStep },
          school,
          fobEvent(`esc-${i}`),
          {
            transport: 'webhook',
            profile: 'peoplesafe-style',
            raw: Buffer.from('{}'),
          },
        );
        accepted.set((r as { alarmId: string }).alarmId, performance.now());
      }
      const end = performance.now() + 30_000;
      while (webhookAt.size < N && performance.now() < end) await sleep(20);
      while (boardAt.size < N && performance.now() < end) await sleep(20);
    },
    () => N,
  );
  alarmsServer = alarmsRun.server;
  // The board's level-1 event as open boards get it (its Redis channel), after its commit.
  const boardMs = new Map([...boardAt].map(([id, t]) => [id, t - accepted.get(id)!]));
  const lat = [...accepted]
    .filter(([id]) => webhookAt.has(id) && boardAt.has(id))
    .map(([id, t]) => Math.max(webhookAt.get(id)! - t, boardMs.get(id) ?? 0));
  if (TRACE) {
    const done = new Map(
      [...accepted]
        .filter(([id]) => webhookAt.has(id))
        .map(([id, t]) => [id, t + Math.max(webhookAt.get(id)! - t, boardMs.get(id) ?? 0)]),
    );
    const stages: Record<string, number[]> = {
      'accepted → first step starts': [],
      'first step (taken, jobs queued)': [],
      'first step ends → last level-1 handed': [],
    };
    for (const [id, acc] of accepted) {
      const e = jobTimes.escalate.get(id);
      const d = done.get(id);
      if (!e || d === undefined) continue;
      stages['accepted → first step starts']!.push(e[0] - acc);
      stages['first step (taken, jobs queued)']!.push(e[1] - e[0]);
      stages['first step ends → last level-1 handed']!.push(d - e[1]);
    }
    printTable(
      Object.entries(stages).map(([stage, xs]) => ({
        stage,
        p50: round(pct(xs, 50), 2),
        p99: round(pct(xs, 99), 2),
        max: round(Math.max(...xs), 2),
      })),
    );
  }
  printTable([
    {
      run: 'baseline: BullMQ enqueue → worker',
      p50: round(pct(rt, 50), 2),
      p99: round(pct(rt, 99), 2),
      done: `${rt.length}/${N}`,
      'probe commit max': round(baselineServer.probeCommitMaxMs, 1),
    },
    {
      run: 'alarm accepted → all level-1 notifications handed',
      p50: round(pct(lat, 50), 2),
      p99: round(pct(lat, 99), 2),
      done: `${lat.length}/${N}`,
      'probe commit max': round(alarmsServer.probeCommitMaxMs, 1),
    },
  ]);
  printResult({
    bench: 'escalation',
    rate: RATE,
    alarms: N,
    level1Notified: lat.length,
    p99OverBaselineMs: round(pct(lat, 99) - pct(rt, 99), 2),
    p50Ms: round(pct(lat, 50), 2),
    p99Ms: round(pct(lat, 99), 2),
    baselineQueueP50Ms: round(pct(rt, 50), 2),
    baselineQueueP99Ms: round(pct(rt, 99), 2),
    probeCommitMaxMs: round(alarmsServer.probeCommitMaxMs, 1),
    targets: { p99OverBaselineMs: '<= 10' },
  });
  boardSub.disconnect();
} finally {
  await host.close(2000);
  await watchPool.end();
  await services.close();
  await new Promise<void>((r) => server.close(() => r()));
}
