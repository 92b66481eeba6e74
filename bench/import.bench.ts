/**
 * npm run bench:import — SIMS session-attendance XML for 2,000 pupils × one school year
 * (~760k marks). Measures, each in its own process: Doorstep's streamed import into PostgreSQL
 * (marks/s, peak RSS), and the same file again (every mark unchanged: a nightly re-export); a
 * whole-document xml2js parse of the same file (the baseline for speed and memory); a raw
 * PostgreSQL COPY of the same rows into a bare table (the database's ceiling) and into a table made
 * like the marks table, its key included (the floor of writing these rows where they belong); and
 * Doorstep's reader alone on the file, no database (the ceiling the parse sets on any import).
 * Targets: ≥ 3× xml2js's speed at ≤ 1/5 of its peak memory; ≥ 50% of COPY's rate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../src/store/open.ts';
import { printResult, printTable, round } from './lib/report.ts';
import { schoolDays, writeSessionXml } from './lib/synthetic-attendance.ts';

const PUPILS = Number(process.env.BENCH_PUPILS ?? 2000);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dir = mkdtempSync(join(tmpdir(), 'doorstep-bench-'));
const file = join(dir, 'session-attendance.xml');
const schema = `bench_import_${Date.now().toString(36)}`;

interface Run {
  mode: string;
  marks: number;
  seconds: number;
  peakRssMb: number;
  againSeconds?: number;
  walBytes?: number;
}

function run(mode: string, extraNodeArgs: string[] = []): Run {
  const out = execFileSync(
    process.execPath,
    [...extraNodeArgs, 'bench/import-worker.ts', mode, file, DATABASE_URL, schema],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as Run;
}

const marks = await writeSessionXml(file, PUPILS, schoolDays(190));
const sizeMb = statSync(file).size / 1_048_576;
console.log(
  `generated ${marks.toLocaleString('en-GB')} marks for ${PUPILS} pupils (${sizeMb.toFixed(0)} MB)`,
);

// The school's pupils exist before their marks arrive (not timed).
const db = await openStore({ databaseUrl: DATABASE_URL, dataDir: 'unused', schema });
await db.query(
  `INSERT INTO pupils (school_id, mis_id) SELECT 'alpha', (100000 + g)::text FROM generate_series(1, $1) g`,
  [PUPILS],
);
await db.close();

try {
  // The flags `doorstep import` runs with (bin/doorstep.js).
  const doorstep = run('doorstep', ['--max-semi-space-size=4']);
  const parse = run('parse', ['--max-semi-space-size=4']);
  const xml2js = run('xml2js', ['--max-old-space-size=16384']);
  const copy = run('copy');
  const keyed = run('copy-keyed');
  const rate = (r: Run) => r.marks / r.seconds;
  const again = { ...doorstep, mode: 'doorstep again', seconds: doorstep.againSeconds! };
  printTable(
    [doorstep, again, parse, xml2js, copy, keyed].map((r) => ({
      run: r.mode,
      marks: r.marks,
      seconds: round(r.seconds),
      'marks/s': Math.round(rate(r)),
      'peak RSS MB': Math.round(r.peakRssMb),
    })),
  );
  const result = {
    bench: 'import',
    pupils: PUPILS,
    marks,
    fileMb: round(sizeMb, 1),
    marksPerSec: Math.round(rate(doorstep)),
    peakRssMb: Math.round(doorstep.peakRssMb),
    baselineXml2jsMarksPerSec: Math.round(rate(xml2js)),
    baselineXml2jsPeakRssMb: Math.round(xml2js.peakRssMb),
    baselineCopyMarksPerSec: Math.round(rate(copy)),
    floorCopyIntoMarksTableMarksPerSec: Math.round(rate(keyed)),
    reimportMarksPerSec: Math.round(rate(again)),
    parseOnlyMarksPerSec: Math.round(rate(parse)),
    // Write-ahead log per mark: what the import adds to the log every commit (an alarm's) flushes.
    walBytesPerMark: Math.round(doorstep.walBytes! / doorstep.marks),
    floorWalBytesPerMarkCopyKeyed: Math.round(keyed.walBytes! / keyed.marks),
    speedVsXml2js: round(rate(doorstep) / rate(xml2js)),
    memoryVsXml2js: round(doorstep.peakRssMb / xml2js.peakRssMb, 3),
    rateVsCopy: round(rate(doorstep) / rate(copy), 3),
    rateVsCopyIntoMarksTable: round(rate(doorstep) / rate(keyed), 3),
    // The most any import that parses this file could reach: the reader alone against raw COPY.
    parseOnlyVsCopy: round(rate(parse) / rate(copy), 3),
    targets: { speedVsXml2js: '>= 3', memoryVsXml2js: '<= 0.2', rateVsCopy: '>= 0.5' },
  };
  printResult(result);
} finally {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
  rmSync(dir, { recursive: true, force: true });
}
