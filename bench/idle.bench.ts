/**
 * npm run bench:idle — how much memory `npm start` holds when nothing is happening, on the example
 * config, with the embedded PGlite store and with PostgreSQL; beside it, in the same run, the floors:
 * a bare Node process, and a bare PGlite instance opened exactly as the store opens it. Each figure
 * is the resident set (VmRSS) of the process and its children (with PostgreSQL the worker role runs
 * in a child), the largest of five samples a second apart after ten idle seconds. PostgreSQL's own
 * server processes are not counted: that memory is the database's, shared by every process.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttp } from '../test/helpers/spawn.ts';
import { printResult, printTable, round } from './lib/report.ts';
import { DATABASE_URL } from './lib/services.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);

/** VmRSS of a process and all its descendants, in MB. */
function treeRssMb(pid: number): number {
  let kb = 0;
  const visit = (p: number) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      for (const task of execFileSync('ls', [`/proc/${p}/task`], { encoding: 'utf8' }).split('\n')) {
        if (!task) continue;
        const children = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim();
        for (const c of children ? children.split(' ') : []) visit(Number(c));
      }
    } catch {
      // the process ended between two reads
    }
  };
  visit(pid);
  return kb / 1024;
}

async function idleRss(child: ChildProcess): Promise<number> {
  await sleep(IDLE_MS);
  let max = 0;
  for (let i = 0; i < 5; i++) {
    max = Math.max(max, treeRssMb(child.pid!));
    await sleep(1000);
  }
  return max;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** A child running `code` (an ES module), ready when it prints READY. */
async function floor(code: string): Promise<number> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      if (String(d).includes('READY')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`floor process exited (${c})`)));
  });
  try {
    return await idleRss(child);
  } finally {
    await stop(child);
  }
}

async function doorstep(store: 'pglite' | 'postgres'): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'doorstep-idle-'));
  const port = await freePort();
  const suffix = Date.now().toString(36);
  const schema = `bench_idle_${suffix}`;
  const config = readFileSync('config/doorstep.example.yaml', 'utf8')
    .replace('prefix: doorstep', `prefix: bench-idle-${suffix}`)
    .replace(
      'dataDir: ./data/pglite',
      `dataDir: ${join(dir, 'pglite')}${store === 'postgres' ? `\n  schema: ${schema}` : ''}`,
    )
    .replace('port: 8080', `port: ${port}`)
    .replaceAll('./data/drop/', `${dir}/drop/`);
  const file = join(dir, 'doorstep.yaml');
  writeFileSync(file, config);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  if (store === 'postgres') env.DATABASE_URL = DATABASE_URL;
  else delete env.DATABASE_URL;
  const child = spawn(process.execPath, ['bin/doorstep.js', 'start', '--config', file], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, 200, 120_000);
    return await idleRss(child);
  } finally {
    await stop(child);
    if (store === 'postgres')
      execFileSync('psql', [DATABASE_URL, '-qc', `DROP SCHEMA IF EXISTS ${schema} CASCADE`], {
        stdio: 'ignore',
      });
    rmSync(dir, { recursive: true, force: true });
  }
}

const nodeFloor = await floor("setInterval(() => {}, 1000); console.log('READY');");
const pgliteFloor = await floor(
  `import { mkdtempSync } from 'node:fs';
   import { tmpdir } from 'node:os';
   import { join } from 'node:path';
   import { PGlite } from '@electric-sql/pglite';
   const db = await PGlite.create(mkdtempSync(join(tmpdir(), 'pglite-floor-')), {
     startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'],
   });
   await db.query('SELECT 1');
   setInterval(() => {}, 1000);
   console.log('READY');`,
);
const onPglite = await doorstep('pglite');
const onPostgres = await doorstep('postgres');

printTable([
  { process: 'floor: a bare Node process', 'idle RSS MB': round(nodeFloor, 0) },
  { process: 'floor: a bare PGlite instance (as the store opens it)', 'idle RSS MB': round(pgliteFloor, 0) },
  { process: 'npm start, embedded PGlite store', 'idle RSS MB': round(onPglite, 0) },
  { process: 'npm start, PostgreSQL (parent + worker child)', 'idle RSS MB': round(onPostgres, 0) },
]);
printResult({
  bench: 'idle',
  idleRssMbPglite: round(onPglite, 0),
  idleRssMbPostgres: round(onPostgres, 0),
  floorNodeMb: round(nodeFloor, 0),
  floorPgliteMb: round(pgliteFloor, 0),
  pgliteOverFloorMb: round(onPglite - pgliteFloor, 0),
  postgresOverNodeFloorMb: round(onPostgres - nodeFloor, 0),
});
