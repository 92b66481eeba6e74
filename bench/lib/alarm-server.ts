/**
 * The Doorstep side of `bench:alarm`, in its own process as in production: the MQTT transports
 * (ingest: durable write, board publish, escalation job) and the HTTP server with the board's SSE
 * stream. Started by the bench with its settings in the environment; prints one line
 * `READY <base url>` when subscribed, and stops on SIGTERM.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startMqttFeed } from '../../src/alarms/fob-feeds.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../../test/helpers/config.ts';
import { DATABASE_URL, REDIS_URL } from './services.ts';

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`alarm-server: ${k} is not set`);
  return v;
};
const suffix = env('BENCH_SUFFIX');
const prefix = env('BENCH_PREFIX');
const connections = Number(env('BENCH_CONNECTIONS'));
const brokerUrl = env('BENCH_BROKER_URL');

const log = createLogger({ level: 'silent' });
const db = await openStore({ databaseUrl: DATABASE_URL, dataDir: 'unused', schema: env('BENCH_SCHEMA') });
const conn = await connectRedis({ url: REDIS_URL }, 'producer');
const producer = new Producer(catalog, conn, prefix);
const config = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "${brokerUrl}", topics: ["bench/${suffix}/fobs/+/events"], shared: true, connections: ${connections}, clientId: "bench-${suffix}" }
      devices: [{ deviceId: PS-0001, staffId: staff-1 }]
`,
});
const school = config.schools[0]!;
const transport = school.fobs.transports[0]! as Extract<
  (typeof school.fobs.transports)[number],
  { kind: 'mqtt' }
>;
// BENCH_TRACE=1: where the time goes — the durable write, the escalation enqueue, the event loop.
const trace = process.env.BENCH_TRACE === '1';
const stages: Record<string, number[]> = { write: [], enqueue: [] };
const timed = <T extends object>(target: T, method: string, stage: string): T =>
  new Proxy(target, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r);
      if (k !== method || typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          return await v.apply(t, args);
        } finally {
          stages[stage]!.push(performance.now() - t0);
        }
      };
    },
  });
const loop = monitorEventLoopDelay({ resolution: 1 });
if (trace) loop.enable();
const ingest = {
  db: trace ? timed(db, 'query', 'write') : db,
  producer: trace ? timed(producer, 'enqueue', 'enqueue') : producer,
  publisher: conn,
  prefix,
};
const app = await buildHttpApp({
  log,
  readiness: [],
  metrics: createMetrics([]),
  queues: [],
  boardEvents: { config, db, subscriber: await connectRedis({ url: REDIS_URL }, 'worker'), prefix },
});
const base = await app.listen({ host: '127.0.0.1', port: 0 });
const transports = await Promise.all(
  Array.from({ length: connections }, (_, c) =>
    startMqttFeed({ deps: ingest, school, transport, log, instance: `c${c}` }),
  ),
);
await Promise.all(transports.map((t) => t.ready));
process.stdout.write(`READY ${base}\n`);

process.once('SIGTERM', async () => {
  if (trace) {
    const q = (xs: number[], p: number) =>
      [...xs].sort((a, b) => a - b)[Math.floor((p / 100) * (xs.length - 1))]?.toFixed(2);
    for (const [k, xs] of Object.entries(stages))
      process.stderr.write(
        `trace ${k}: n=${xs.length} p50=${q(xs, 50)} p99=${q(xs, 99)} max=${q(xs, 100)}\n`,
      );
    process.stderr.write(
      `trace event-loop delay: p50=${(loop.percentile(50) / 1e6).toFixed(2)} p99=${(loop.percentile(99) / 1e6).toFixed(2)} max=${(loop.max / 1e6).toFixed(2)} ms\n`,
    );
  }
  await Promise.all(transports.map((t) => t.stop()));
  await app.close();
  await producer.close();
  conn.disconnect();
  await db.close();
  process.exit(0);
});
