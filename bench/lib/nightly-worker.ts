/**
 * One worker process of `npm run bench:nightly`: the real worker host (BullMQ) with the real
 * `evaluate-triggers` handler, on the benchmark's schema and Redis prefix. Its clock is set by the
 * parent (the day the run evaluates). Messages from the parent:
 * - `{ type: 'now', iso }` sets the clock;
 * - `{ type: 'bare', schools, from }` reads the same marks the evaluation loads with a bare SELECT
 *   (the floor), and answers `{ type: 'bare', rows, seconds }`;
 * - `{ type: 'rss' }` answers `{ type: 'rss', maxRssMb, sinceMb }`: this process's peak RSS so far, and
 *   the highest RSS sampled (every 20 ms) since the last `rss` message;
 * - `{ type: 'stop' }` closes the host and exits.
 */
import { hostname } from 'node:os';
import { handlers } from '../../jobs/index.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { openStore } from '../../src/store/open.ts';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const config = loadConfigFile(env('BENCH_CONFIG'));
const redisUrl = env('REDIS_URL');
const prefix = env('BENCH_PREFIX');
const db = await openStore({
  databaseUrl: env('DATABASE_URL'),
  dataDir: 'unused',
  schema: env('BENCH_SCHEMA'),
});
const conn = await connectRedis({ url: redisUrl }, 'producer');
const producer = new Producer(catalog, conn, prefix);
const log = createLogger({ level: 'warn', base: { role: 'bench-worker' } });
let clock = new Date(env('BENCH_NOW'));

const host = new WorkerHost({
  catalog,
  handlers: { 'evaluate-triggers': handlers['evaluate-triggers']! },
  deps: { db, log, producer, now: () => clock, instance: `${hostname()}:${process.pid}`, config },
  roles: ['worker'],
  redis: { url: redisUrl },
  prefix,
  log,
});
await host.waitUntilReady();
host.run();

let sampledPeak = 0;
setInterval(() => {
  sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
}, 20).unref();

process.on('message', async (m: { type: string; iso?: string; schools?: string[]; from?: string }) => {
  if (m.type === 'now') {
    clock = new Date(m.iso!);
    process.send!({ type: 'now' });
  } else if (m.type === 'rss') {
    const sinceMb = Math.round(Math.max(sampledPeak, process.memoryUsage.rss()) / 1_048_576);
    sampledPeak = 0;
    process.send!({ type: 'rss', maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), sinceMb });
  } else if (m.type === 'bare') {
    const t = performance.now();
    let rows = 0;
    for (const school of m.schools!) {
      // The rows the evaluation loads (src/store/triggers.ts loadAttendance: a pupil's month rows,
      // their codes), nothing else: the stored rows as they are, no packing, no parsing.
      const r = await db.query<{ pupil_mis_id: string; month: string; codes: string }>(
        `SELECT pupil_mis_id, to_char(month, 'YYYY-MM-DD') AS month, codes::text AS codes FROM attendance_months
         WHERE school_id = $1 AND month >= date_trunc('month', $2::date)`,
        [school, m.from!],
      );
      rows += r.rows.length;
    }
    process.send!({ type: 'bare', rows, seconds: (performance.now() - t) / 1000 });
  } else if (m.type === 'stop') {
    await host.close(10_000);
    await producer.close();
    conn.disconnect();
    await db.close();
    process.exit(0);
  }
});
process.send!({ type: 'ready' });
