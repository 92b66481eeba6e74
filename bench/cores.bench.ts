/**
 * npm run bench:cores — why background work is kept off one core (`queue.backgroundCores`). The
 * floor of the alarm path, a bare one-row durable commit on the same PostgreSQL at 100/s from its own
 * process, measured in one run:
 *
 * - idle (the floor itself);
 * - beside two busy loops at the lowest priority (nice 19) free to run on any core — what a burst of
 *   sign-ins plus an import did to the machine before;
 * - beside the same two loops held to the background cores (src/core/background-cpus.ts);
 * - beside password hashing (argon2id, as sign-ins hash) held to the background cores.
 *
 * The probe runs in a process of its own, as the hashing does (src/auth/hash-child.ts), so they
 * share no event loop. `BENCH_SECONDS` per phase (default 10).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { hashOnCpus, hashPassword } from '../src/auth/password.ts';
import { backgroundCommand, backgroundCpus } from '../src/core/background-cpus.ts';
import { printResult, printTable, round } from './lib/report.ts';
import { DATABASE_URL } from './lib/services.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

/** The probe: its own process, its own connection, 100 commits/s; prints their times as JSON. */
const PROBE = `
import pg from 'pg';
const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
await c.connect();
await c.query('CREATE TABLE IF NOT EXISTS bench_cores_floor (id bigserial PRIMARY KEY, payload text)');
const lat = [];
const end = performance.now() + Number(process.env.MS);
for (let i = 0; performance.now() < end; i++) {
  const t0 = performance.now();
  await c.query('INSERT INTO bench_cores_floor (payload) VALUES ($1)', ['p' + i]);
  lat.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 10));
}
await c.query('TRUNCATE bench_cores_floor');
await c.end();
process.stdout.write(JSON.stringify(lat));
`;

async function probe(): Promise<number[]> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE], {
    env: { ...process.env, DATABASE_URL, MS: String(SECONDS * 1000) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += String(d);
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`probe exited ${code}`);
  return (JSON.parse(out) as number[]).slice(20); // its first commits open the connection's caches
}

/** Two busy loops at nice 19, on `cpus` (undefined: anywhere). */
function busyLoops(cpus: string | undefined): ChildProcess[] {
  return [0, 1].map(() => {
    const run = backgroundCommand({ cpus, nice: 19 }, process.execPath, ['-e', 'for(;;){}']);
    return spawn(run.command, run.args, { stdio: 'ignore' });
  });
}
async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map((c) => {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      return exited;
    }),
  );
}

const { cpus, skipped } = await backgroundCpus('leave-first');
if (cpus === undefined) {
  console.error(
    `bench:cores needs Linux, two cores or more and taskset: nothing here would be pinned (${skipped ?? 'one core'})`,
  );
  process.exit(1);
}

const rows: Record<string, string | number>[] = [];
const phase = async (label: string, lat: number[]) => {
  rows.push({
    'bare commit beside': label,
    p50: round(pct(lat, 50)),
    p99: round(pct(lat, 99)),
    max: round(Math.max(...lat)),
    commits: lat.length,
  });
  return round(pct(lat, 99));
};

const idle = await phase('nothing (the floor)', await probe());

let loops = busyLoops(undefined);
await sleep(500);
const busyAny = await phase('two busy loops, nice 19, any core', await probe());
await stop(loops);

loops = busyLoops(cpus);
await sleep(500);
const busyPinned = await phase(`two busy loops, nice 19, held to CPUs ${cpus}`, await probe());
await stop(loops);

hashOnCpus(cpus);
let hashing = true;
let hashes = 0;
const hasher = (async () => {
  while (hashing) {
    await hashPassword('correct horse battery staple');
    hashes++;
  }
})();
await sleep(500);
const hashingPinned = await phase(`password hashing held to CPUs ${cpus}`, await probe());
hashing = false;
await hasher;

printTable(rows);
console.log(`(${hashes} hashes meanwhile; this machine's background CPUs: ${cpus})`);
printResult({
  bench: 'cores',
  backgroundCpus: cpus,
  commitP99IdleMs: idle,
  commitP99BusyAnyCoreMs: busyAny,
  commitP99BusyHeldMs: busyPinned,
  commitP99HashingHeldMs: hashingPinned,
  busyAnyOverIdleMs: round(busyAny - idle),
  busyHeldOverIdleMs: round(busyPinned - idle),
});
