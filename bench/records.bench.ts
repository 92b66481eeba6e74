/**
 * npm run bench:records — delivery through the real queue, worker host and CPOMS sink to the fake
 * CPOMS, which enforces a limit of LIMIT records/s (429 beyond it). Doorstep is configured with the
 * same limit. Reports records/s, utilisation of the limit (target ≥ 0.95) and duplicates (must be 0).
 * Baseline in the same run: the same sink called directly (no queue, no limiter) against the same
 * fake without its limit — what the sink and the fake can do at all.
 */

import { CpomsSink } from '../connectors/records/cpoms/sink.ts';
import { DEFAULT_CPOMS_WIRE } from '../connectors/records/cpoms/wire.ts';
import { handlers } from '../jobs/index.ts';
import { Secret } from '../src/core/secret.ts';
import { createLogger } from '../src/log/logger.ts';
import { catalog } from '../src/queue/catalog.ts';
import { RedisRateLimiter } from '../src/queue/rate-limit.ts';
import { WorkerHost } from '../src/queue/worker-host.ts';
import { configWith } from '../test/helpers/config.ts';
import { startFakeCpoms } from '../test/helpers/fake-cpoms.ts';
import { insertTestRecords } from '../test/helpers/outbox.ts';
import { printResult, printTable, round } from './lib/report.ts';
import { openBenchServices, REDIS_URL } from './lib/services.ts';

const services = await openBenchServices('records');
const { suffix, prefix, db, conn, producer } = services;

const LIMIT = Number(process.env.BENCH_LIMIT ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const N = LIMIT * SECONDS;
const log = createLogger({ level: 'silent' });

const fake = await startFakeCpoms({ token: 'bench-token', limitPerSecond: LIMIT });
const config = configWith({
  records: `{ sink: cpoms, baseUrl: "${fake.url}", token: "\${CPOMS_TOKEN}", ratePerSecond: ${LIMIT}, timeoutMs: 5000 }`,
  env: { CPOMS_TOKEN: 'bench-token' },
});

try {
  // Baseline: the sink alone, 8 at a time, no limit at the fake.
  fake.limitPerSecond = undefined;
  const sink = new CpomsSink({
    baseUrl: fake.url,
    token: new Secret('bench-token', 'env:T'),
    wire: DEFAULT_CPOMS_WIRE,
  });
  const baseN = 2000;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < baseN) {
        const i = next++;
        await sink.deliver(
          {
            outboxId: String(i),
            schoolId: 'alpha',
            kind: 'trigger_note',
            pupils: [{ misId: `b${i}`, upn: null }],
            title: 't',
            body: 'b',
            occurredAt: new Date(),
            category: 'Attendance',
          },
          `baseline-${i}`,
        );
      }
    }),
  );
  const baselinePerSec = baseN / ((performance.now() - t0) / 1000);
  fake.incidents.clear();
  fake.created = 0;
  fake.requests = 0;
  fake.limitPerSecond = LIMIT;

  await insertTestRecords(db, N, 'cpoms', `bench-${suffix}`);
  const deps = {
    db,
    log,
    producer,
    now: () => new Date(),
    instance: 'bench',
    config,
    limiter: new RedisRateLimiter(conn, prefix),
  };
  const host = new WorkerHost({
    catalog,
    handlers,
    deps,
    roles: ['worker'],
    redis: { url: REDIS_URL },
    prefix,
    log,
  });
  host.run();
  await host.waitUntilReady();
  const started = performance.now();
  await handlers['relay-outbox']!(
    { reason: 'manual' },
    { id: 'r', name: 'relay-outbox', attempt: 1, maxAttempts: 1, signal: new AbortController().signal },
    deps,
  );
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbox WHERE status <> 'delivered'`,
    );
    if (rows[0]!.n === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const elapsed = (performance.now() - started) / 1000;
  await host.close(2000);
  const perSec = N / elapsed;
  // Utilisation over the whole seconds spent delivering (the first and last are partial).
  const perSecond = new Map<number, number>();
  for (const i of fake.incidents.values())
    perSecond.set(Math.floor(i.at / 1000), (perSecond.get(Math.floor(i.at / 1000)) ?? 0) + 1);
  const secs = [...perSecond.keys()].sort((a, b) => a - b);
  const inner = secs.slice(1, -1);
  const innerCount = inner.reduce((n, s) => n + (perSecond.get(s) ?? 0), 0);
  const utilisation = inner.length ? innerCount / inner.length / LIMIT : perSec / LIMIT;
  const duplicates = fake.created - fake.incidents.size + (N - fake.incidents.size);
  printTable([
    {
      run: 'baseline: sink called directly, no limit',
      records: baseN,
      seconds: round(baseN / baselinePerSec),
      'records/s': Math.round(baselinePerSec),
    },
    {
      run: `Doorstep queue → CPOMS at ${LIMIT}/s`,
      records: N,
      seconds: round(elapsed),
      'records/s': round(perSec, 1),
    },
  ]);
  printResult({
    bench: 'records',
    records: N,
    limitPerSec: LIMIT,
    recordsPerSec: round(perSec, 1),
    utilisation: round(utilisation, 3),
    fullSecondsMeasured: inner.length,
    duplicates,
    rejectedByFakeLimit: fake.requests - 2 * fake.created,
    baselineDirectRecordsPerSec: Math.round(baselinePerSec),
    targets: { utilisation: '>= 0.95', duplicates: 0 },
  });
} finally {
  await services.close();
  await fake.close();
}
