/**
 * The Doorstep side of `bench:alarm`, one role per process as in production (BENCH_ROLE):
 * - `ingest`: the MQTT transports (decode → durable write → board publish → escalation job → PUBACK);
 * - `web`: the HTTP server with the board's SSE stream (fed from Redis, as every web process is).
 * Started by the bench with its settings in the environment and an IPC channel; prints one line
 * `READY <base url | ingest>` when ready, and stops on SIGTERM.
 *
 * Tracing (always on in the ingest role; it costs a Map write per stage): the bench asks over IPC
 * `{ trace: label }` and gets, for every event whose id starts with `label`, when it arrived and when
 * each stage ended, on the machine's clock (`performance.timeOrigin + performance.now()`, comparable
 * across processes), so it can also place the broker hop before and the SSE delivery after.
 */
import { writeFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { shareGroup } from '../../connectors/fob/mqtt/transport.ts';
import { startMqttFeed } from '../../src/alarms/fob-feeds.ts';
import { INGEST_STORE, prepareIngestStore } from '../../src/alarms/ingest-groups.ts';
import type { IngestStage } from '../../src/alarms/ingest-types.ts';
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
const role = env('BENCH_ROLE');
const suffix = env('BENCH_SUFFIX');
const prefix = env('BENCH_PREFIX');
const connections = Number(env('BENCH_CONNECTIONS'));
const brokerUrl = env('BENCH_BROKER_URL');

const log = createLogger({ level: 'silent' });
// As `doorstep start` opens it for the role (src/runtime/start.ts).
const db = await openStore({
  databaseUrl: DATABASE_URL,
  dataDir: 'unused',
  schema: env('BENCH_SCHEMA'),
  ...(role === 'ingest' ? INGEST_STORE : {}),
});
if (role === 'ingest') await prepareIngestStore(db);
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
const abs = (t: number) => performance.timeOrigin + t;

/** vendor event id → stage → [start, end] (absolute ms). */
const traces = new Map<string, Partial<Record<IngestStage | 'arrived', [number, number]>>>();
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
/** Garbage-collection pauses since the last report: are the event loop's stalls the collector's? */
const fresh = () => ({ minor: 0, minorMaxMs: 0, major: 0, majorMaxMs: 0, pausedMs: 0 });
let gc = fresh();
/**
 * The ingest process's pauses since the last report, on the machine's clock: garbage collections
 * ([start, end, 'young' | 'full']) and event-loop stalls seen by a 1 ms timer that fired 5 ms or more
 * late ([start, end, 'stall']), so the bench can tell which of its slowest alarms waited on one.
 */
let pauses: [number, number, string][] = [];
let tick = performance.now();
// Only when the bench traces: a timer every millisecond is work of its own.
if (process.env.BENCH_TRACE === '1')
  setInterval(() => {
    const t = performance.now();
    if (t - tick >= 6) pauses.push([abs(tick + 1), abs(t), 'stall']);
    tick = t;
  }, 1).unref();
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as { detail?: { kind?: number } }).detail?.kind;
    pauses.push([
      abs(e.startTime),
      abs(e.startTime + e.duration),
      kind === constants.NODE_PERFORMANCE_GC_MINOR ? 'young' : 'full',
    ]);
    gc.pausedMs += e.duration;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
      gc.minor++;
      gc.minorMaxMs = Math.max(gc.minorMaxMs, e.duration);
    } else {
      gc.major++;
      gc.majorMaxMs = Math.max(gc.majorMaxMs, e.duration);
    }
  }
}).observe({ entryTypes: ['gc'] });

// BENCH_ALLOC_PROF=file: where the ingest process allocates, garbage included (V8's sampling heap
// profiler, every 4 KB), written to `<file>.<role>.heapprofile` (chrome://inspect) when it stops.
const allocProf = process.env.BENCH_ALLOC_PROF;
const inspector = allocProf ? new (await import('node:inspector/promises')).Session() : undefined;
if (inspector) {
  inspector.connect();
  await inspector.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}

const stops: (() => Promise<unknown>)[] = [];
let ready = '';
if (role === 'ingest') {
  const deps = {
    db,
    producer,
    publisher: conn,
    prefix,
    trace: (id: string, stage: IngestStage, from: number, to: number) => {
      const t = traces.get(id) ?? {};
      t[stage] = [abs(from), abs(to)];
      traces.set(id, t);
    },
  };
  const feeds = await Promise.all(
    Array.from({ length: connections }, (_, c) =>
      startMqttFeed({
        deps,
        school,
        transport,
        log,
        instance: `c${c}`,
        shareGroup: shareGroup(undefined, connections),
      }),
    ),
  );
  await Promise.all(feeds.map((t) => t.ready));
  stops.push(() => Promise.all(feeds.map((t) => t.stop())));
  ready = 'ingest';
} else {
  const app = await buildHttpApp({
    log,
    readiness: [],
    metrics: createMetrics([]),
    queues: [],
    boardEvents: { config, db, subscriber: await connectRedis({ url: REDIS_URL }, 'worker'), prefix },
  });
  ready = await app.listen({ host: '127.0.0.1', port: 0 });
  stops.push(() => app.close());
}

process.on('message', (m: { trace?: string }) => {
  if (m.trace === undefined) return;
  const out: Record<string, unknown> = {};
  for (const [id, t] of traces) {
    if (!id.startsWith(m.trace)) continue;
    out[id] = t;
    traces.delete(id);
  }
  const loopDelay = {
    p50: loop.percentile(50) / 1e6,
    p99: loop.percentile(99) / 1e6,
    max: loop.max / 1e6,
  };
  loop.reset();
  process.send!({ trace: m.trace, events: out, loopDelay, gc, pauses });
  gc = fresh();
  pauses = [];
});
process.stdout.write(`READY ${ready}\n`);

process.once('SIGTERM', async () => {
  if (inspector && allocProf) {
    const { profile } = await inspector.post('HeapProfiler.stopSampling');
    writeFileSync(`${allocProf}.${role}.heapprofile`, JSON.stringify(profile));
  }
  for (const stop of stops) await stop();
  await producer.close();
  conn.disconnect();
  await db.close();
  process.exit(0);
});
