/**
 * npm run bench:nightly — the nightly trigger evaluation of a trust, end to end, on the real
 * services: PostgreSQL (a private schema, dropped at the end) and Redis (a private prefix).
 *
 * - Load: `BENCH_SCHOOLS` schools × `BENCH_PUPILS` pupils (default 30 × 60,000 — the trust of the
 *   issue) with a school year of marks (AM and PM every school day), a month of a pupil's marks a
 *   row as they are kept (migration 040), COPYed month by month as daily imports leave them.
 *   Absence is realistic in shape: most pupils ~96% present, one in ten ~80%, one in a hundred ~45%;
 *   illness, unexplained, other and holiday codes, some lateness. The table is vacuumed once (as
 *   autovacuum would after the bulk insert).
 * - Nightly: one `evaluate-triggers` (nightly) job per school, enqueued together, run by
 *   `BENCH_WORKERS` worker processes (default 3), each the real worker host (BullMQ) with the real
 *   handler: load marks, evaluate every rule of the statutory and four seed packs, write episodes,
 *   outbox rows and audit. Timed from enqueue to the last job done; the first night (every finding
 *   new, so every write happens) and the second (steady: the same data, nothing to write).
 * - Bare read (same run, same processes, same schools split the same way): a plain SELECT of the
 *   rows the evaluation loads (the pupils' month rows, their codes) — the floor for reading them.
 *   Each worker runs it once before anything is timed: a new connection's first pass over shared
 *   buffers costs twice any later one on this machine (printed beside the rest, not compared).
 * - Incremental: one school's next day imported through the real import (1,000 pupils, a SIMS XML
 *   file), then the `evaluate-triggers` job it hands over, timed from enqueue to done.
 * Targets (issue 22): whole trust ≤ 20 s and ≤ 3× the bare read; incremental ≤ 1 s.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { fileUnit } from '../connectors/mis/file-unit.ts';
import { enqueueEvaluation } from '../jobs/sync-attendance.ts';
import { loadConfigFile } from '../src/config/load.ts';
import { monthOf, SLOTS_PER_MONTH, slotOf } from '../src/domain/attendance/month-slots.ts';
import { SchoolCalendar } from '../src/domain/calendar.ts';
import { applyImportUnit } from '../src/import/apply-unit.ts';
import { importContextFor } from '../src/import/context.ts';
import { textArray } from '../src/store/array-literal.ts';
import { rng } from '../test/helpers/rng.ts';
import { printResult, printTable, round } from './lib/report.ts';
import { DATABASE_URL, openBenchServices, REDIS_URL } from './lib/services.ts';

const SCHOOLS = Number(process.env.BENCH_SCHOOLS ?? 30);
const PUPILS = Number(process.env.BENCH_PUPILS ?? 60_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 3);
const PER_SCHOOL = Math.ceil(PUPILS / SCHOOLS);
const INCREMENTAL_PUPILS = Math.min(1000, PER_SCHOOL);
const PACKS = ['statutory', 'heath-lane', 'lime-hills', 'kings-gomer', 'thames-view'];

const TERMS = [
  ['2024-09-04', '2024-10-25'],
  ['2024-11-04', '2024-12-20'],
  ['2025-01-06', '2025-02-14'],
  ['2025-02-24', '2025-04-04'],
  ['2025-04-22', '2025-05-23'],
  ['2025-06-02', '2025-07-22'],
];
const CLOSURES = [
  ['2025-05-05', 'bank-holiday'],
  ['2025-01-06', 'inset'],
];
const calendar = new SchoolCalendar({
  terms: TERMS.map(([start, end]) => ({ start: start!, end: end! })),
  closures: CLOSURES.map(([from, kind]) => ({ from: from!, to: from!, kind: kind as 'inset' })),
});
const days = calendar.days;
// Marks up to the night's day; the incremental run imports the day after it.
const today = days.at(-2)!;
const nextDay = days.at(-1)!;
const markedDays = days.slice(0, -1);
const atEvening = (d: string) => new Date(`${d}T19:00:00Z`);

const dir = mkdtempSync(join(tmpdir(), 'doorstep-nightly-'));
const configPath = join(dir, 'trust.yaml');
const schoolIds = Array.from({ length: SCHOOLS }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
writeFileSync(
  configPath,
  `trust: { id: bench-trust, name: Bench Trust }
schools:
${schoolIds
  .map(
    (id) => `  - id: ${id}
    name: School ${id}
    mis: { kind: sims-xml, dropFolder: ${dir}/drop/${id} }
    records: { sink: preview }
    policies: [${PACKS.join(', ')}]
    calendar:
      terms:
${TERMS.map(([s, e]) => `        - { start: "${s}", end: "${e}" }`).join('\n')}
      closures:
${CLOSURES.map(([f, k]) => `        - { from: "${f}", kind: ${k} }`).join('\n')}`,
  )
  .join('\n')}
`,
);
const config = loadConfigFile(configPath, {});

const svc = await openBenchServices('nightly');
const { db } = svc;
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const seconds = (t: number) => (performance.now() - t) / 1000;
const workers: ChildProcess[] = [];

try {
  console.log(
    `scale: ${SCHOOLS} schools × ${PER_SCHOOL.toLocaleString('en-GB')} pupils = ${(SCHOOLS * PER_SCHOOL).toLocaleString('en-GB')} pupils, ${markedDays.length} school days × 2 sessions; ${WORKERS} worker processes`,
  );

  // ---- Load (not timed against any target; printed so the scale can be chosen).
  let t = performance.now();
  await db.exec(`
    SET synchronous_commit = off;
    ALTER TABLE attendance_months SET UNLOGGED;
  `);
  await db.query(
    `INSERT INTO pupils (school_id, mis_id, upn, year_group, flags)
     SELECT s.id, lpad(p::text, 6, '0'), NULL, 'Year ' || (p % 7 + 1),
            jsonb_build_object('welfareConcern', random() < 0.03, 'cpPlan', random() < 0.01)
     FROM unnest($1::text[]) AS s(id), generate_series(1, $2::int) AS p`,
    [schoolIds, PER_SCHOOL],
  );
  // A month of a pupil's marks per row, as the marks are kept (migration 040), written month by
  // month, every pupil of every school: the order daily imports leave the table in (each day's
  // import rewrites the month's row of every pupil).
  const marks = await copyMonths(schoolIds, PER_SCHOOL, markedDays);
  const insertSeconds = seconds(t);
  const t2 = performance.now();
  await db.exec('ALTER TABLE attendance_months SET LOGGED');
  // Vacuumed once, as autovacuum does a table after a bulk insert; the incremental day's rows are not.
  await db.query('VACUUM (ANALYZE) attendance_months');
  await db.query('ANALYZE pupils');
  const keySeconds = seconds(t2);
  const { rows: counted } = await db.query<{ bytes: string }>(
    `SELECT pg_total_relation_size('attendance_months')::text AS bytes`,
  );
  console.log(
    `loaded ${marks.toLocaleString('en-GB')} marks (${mb(Number(counted[0]!.bytes))} MB with its key, a month a row) in ${round(insertSeconds + keySeconds, 1)} s (insert ${round(insertSeconds, 1)} s, logged and vacuumed ${round(keySeconds, 1)} s)`,
  );

  // ---- Worker processes: the real worker host, forked.
  // A worker process that dies (e.g. out of memory) fails the run rather than leaving it waiting.
  let died: Error | undefined;
  const ask = <T>(c: ChildProcess, msg: object, type: string) =>
    new Promise<T>((resolve, reject) => {
      const on = (m: { type: string }) => {
        if (m.type !== type) return;
        c.off('message', on);
        c.off('exit', gone);
        resolve(m as T);
      };
      const gone = (code: number | null, signal: string | null) =>
        reject(new Error(`a worker process exited (${signal ?? `code ${code}`})`));
      c.on('message', on);
      c.once('exit', gone);
      c.send(msg);
    });
  const ready: Promise<unknown>[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const c = fork('bench/lib/nightly-worker.ts', [], {
      env: {
        ...process.env,
        BENCH_CONFIG: configPath,
        BENCH_SCHEMA: svc.schema,
        BENCH_PREFIX: svc.prefix,
        BENCH_NOW: atEvening(today).toISOString(),
        DATABASE_URL,
        REDIS_URL,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    workers.push(c);
    ready.push(
      new Promise((resolve, reject) => {
        c.once('exit', (code, signal) => {
          died = new Error(`a worker process exited (${signal ?? `code ${code}`})`);
          reject(died);
        });
        c.on('message', (m: { type: string }) => m.type === 'ready' && resolve(undefined));
      }),
    );
  }
  await Promise.all(ready);
  const queue = svc.producer.queueFor('evaluate-triggers');
  const doneCount = async () => {
    const c = await queue.getJobCounts('completed', 'failed');
    if (c.failed) {
      const failed = await queue.getFailed(0, 0);
      throw new Error(`an evaluate-triggers job failed: ${failed[0]?.failedReason}`);
    }
    return c.completed ?? 0;
  };
  const until = async (n: number) => {
    while ((await doneCount()) < n) {
      if (died) throw died;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const counts = async () => {
    const { rows } = await db.query<{ episodes: number; outbox: number; audit: number }>(
      `SELECT (SELECT count(*)::int FROM trigger_episodes) AS episodes, (SELECT count(*)::int FROM outbox) AS outbox,
              (SELECT count(*)::int FROM audit_log) AS audit`,
    );
    return rows[0]!;
  };

  // The same rows the evaluation loads, read by each worker process with a bare SELECT: the floor.
  const bareRead = async () => {
    const t = performance.now();
    const bare = await Promise.all(
      workers.map((c, i) =>
        ask<{ rows: number; seconds: number }>(
          c,
          { type: 'bare', schools: schoolIds.filter((_, k) => k % WORKERS === i), from: days[0] },
          'bare',
        ),
      ),
    );
    return { seconds: seconds(t), rows: bare.reduce((n, b) => n + b.rows, 0) };
  };
  // Memory a process touches for the first time costs a page fault per 4 KB, and a fault costs this
  // machine ~50 times what it costs most (measured below: `firstTouchMicrosPer4kPage`; a few tenths
  // of a µs is usual). A new PostgreSQL connection's first pass over 10,000 shared buffers already in
  // memory took 250–270 ms, every later pass 120 ms (on a private instance with huge pages: 120 ms
  // from the first); a new worker process faults in the ~200 MB its heap grows by. The nightly
  // run and its floor are compared as a trust's long-running workers meet them: each worker process
  // reads the rows once — the floor's own read — before anything is timed. That first pass is
  // printed; the workers' peak memory is sampled during the nightly runs only.
  const cold = await bareRead();
  await Promise.all(workers.map((c) => ask(c, { type: 'rss' }, 'rss')));

  let completed = 0;
  const nightly = async (label: string) => {
    const before = await counts();
    const t = performance.now();
    await svc.producer.enqueueBulk(
      'evaluate-triggers',
      schoolIds.map((schoolId) => ({
        payload: { schoolId, reason: 'nightly' as const },
        options: { jobId: `nightly-${label}-${schoolId}` },
      })),
    );
    completed += SCHOOLS;
    await until(completed);
    const s = seconds(t);
    const after = await counts();
    return {
      seconds: s,
      episodes: after.episodes - before.episodes,
      outbox: after.outbox - before.outbox,
      audit: after.audit - before.audit,
    };
  };
  const first = await nightly('first');
  const steady = await nightly('second');
  const rssNightly = await Promise.all(
    workers.map((c) => ask<{ maxRssMb: number; sinceMb: number }>(c, { type: 'rss' }, 'rss')),
  );

  // Bare read: the same rows, split over the same processes the same way (round-robin).
  const { seconds: bareSeconds, rows: bareRows } = await bareRead();

  // Incremental: one school's next day through the real import, then the job it hands over.
  const school = config.schools[0]!;
  const file = join(dir, 'next-day.xml');
  const rows: string[] = [];
  for (let p = 1; p <= INCREMENTAL_PUPILS; p++) {
    const id = String(p).padStart(6, '0');
    const absent = p % 17 === 0;
    for (const [session, present] of [
      ['AM', '/'],
      ['PM', '\\'],
    ])
      rows.push(
        `  <SessionAttendance><PersonID>${id}</PersonID><AttendanceDate>${nextDay}T00:00:00</AttendanceDate><SessionName>${session}</SessionName><AttendanceMark>${absent ? 'N' : present}</AttendanceMark><Comments/><MinsLate/></SessionAttendance>`,
      );
  }
  writeFileSync(
    file,
    `<?xml version="1.0" encoding="utf-8"?>\n<SessionAttendances>\n${rows.join('\n')}\n</SessionAttendances>\n`,
  );
  await Promise.all(
    workers.map((c) => ask(c, { type: 'now', iso: atEvening(nextDay).toISOString() }, 'now')),
  );
  t = performance.now();
  const summary = await applyImportUnit(
    db,
    fileUnit(file, 'sims-xml', school),
    importContextFor(school, atEvening(nextDay), { actor: 'bench', source: 'sims-xml' }),
  );
  const importSeconds = seconds(t);
  t = performance.now();
  const handed = await enqueueEvaluation({ db, producer: svc.producer }, school.id, summary.importId!);
  await until(completed + 1);
  const incrementalSeconds = seconds(t);
  const rss = await Promise.all(workers.map((c) => ask<{ maxRssMb: number }>(c, { type: 'rss' }, 'rss')));

  const nightlySeconds = first.seconds;
  printTable([
    {
      run: `bare SELECT of the same rows (${WORKERS} processes)`,
      seconds: round(bareSeconds, 2),
      'rows/s': Math.round(bareRows / bareSeconds),
      note: `${bareRows.toLocaleString('en-GB')} rows`,
    },
    {
      run: `the same SELECT, first pass (new processes and connections)`,
      seconds: round(cold.seconds, 2),
      'rows/s': Math.round(cold.rows / cold.seconds),
      note: 'before any timed run: memory and buffers touched a first time',
    },
    {
      run: 'nightly, first night (every finding new)',
      seconds: round(first.seconds, 2),
      'rows/s': Math.round(marks / first.seconds),
      note: `${first.episodes} episodes, ${first.outbox} outbox rows, ${first.audit} audit entries written`,
    },
    {
      run: 'nightly, second night (steady)',
      seconds: round(steady.seconds, 2),
      'rows/s': Math.round(marks / steady.seconds),
      note: `${steady.episodes} episodes, ${steady.outbox} outbox rows, ${steady.audit} audit entries written`,
    },
    {
      run: `day import, one school (${INCREMENTAL_PUPILS} pupils)`,
      seconds: round(importSeconds, 3),
      'rows/s': Math.round((INCREMENTAL_PUPILS * 2) / importSeconds),
      note: `${summary.marks.inserted} marks inserted`,
    },
    {
      run: 'incremental evaluation after it',
      seconds: round(incrementalSeconds, 3),
      'rows/s': '',
      note: `${handed} pupils evaluated`,
    },
  ]);
  console.log(
    `peak RSS per worker process (MB): ${rssNightly.map((r) => r.sinceMb).join(', ')} during the nightly runs (sampled every 20 ms); ${rss.map((r) => r.maxRssMb).join(', ')} over the whole run (bare reads and incremental included)`,
  );
  printResult({
    bench: 'nightly',
    schools: SCHOOLS,
    pupils: SCHOOLS * PER_SCHOOL,
    marks,
    workers: WORKERS,
    loadSeconds: round(insertSeconds + keySeconds, 1),
    nightlySeconds: round(nightlySeconds, 2),
    steadyNightlySeconds: round(steady.seconds, 2),
    bareReadSeconds: round(bareSeconds, 2),
    firstBareReadSeconds: round(cold.seconds, 2),
    firstTouchMicrosPer4kPage: firstTouchMicros(),
    nightlyVsBareRead: round(nightlySeconds / bareSeconds, 2),
    rowsReadPerSec: Math.round(marks / nightlySeconds),
    bareRowsPerSec: Math.round(bareRows / bareSeconds),
    incrementalSeconds: round(incrementalSeconds, 3),
    incrementalPupils: handed,
    dayImportSeconds: round(importSeconds, 3),
    // Sampled during the two nightly runs; the whole run's includes the bare reads (a school's rows at once).
    peakRssMbPerWorker: rssNightly.map((r) => r.sinceMb),
    peakRssMbPerWorkerWithBareReadAndIncremental: rss.map((r) => r.maxRssMb),
    episodesWritten: first.episodes,
    targets: { nightlySeconds: '<= 20', nightlyVsBareRead: '<= 3', incrementalSeconds: '<= 1' },
    met: {
      nightly: nightlySeconds <= 20,
      vsBareRead: nightlySeconds / bareSeconds <= 3,
      incremental: incrementalSeconds <= 1,
    },
  });
} finally {
  await Promise.all(
    workers.map(
      (c) =>
        new Promise((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null || !c.connected) return resolve(undefined);
          const kill = setTimeout(() => c.kill('SIGKILL'), 15_000);
          c.once('exit', () => {
            clearTimeout(kill);
            resolve(undefined);
          });
          c.send({ type: 'stop' });
        }),
    ),
  );
  await svc.close();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Realistic absence in shape: most pupils ~96% present, one in ten ~80%, one in a hundred ~45%;
 * illness, unexplained, other and holiday codes, some lateness — as month rows, COPYed. An N older
 * than the last 5 marked school days has become O, as the law has it (SI 2024/208 reg. 10: "N must
 * be replaced within 5 school days, otherwise it becomes O"; statutory `n-unresolved`) — a school's
 * year of marks holds N only in its last week. Returns the number of marks.
 */
async function copyMonths(schools: readonly string[], perSchool: number, marked: readonly string[]) {
  const random = rng(22);
  const months = [...new Set(marked.map(monthOf))];
  const nStillOpenFrom = marked[Math.max(0, marked.length - 5)]!;
  const none = textArray(new Array(SLOTS_PER_MONTH).fill(null));
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`SET search_path = "${svc.schema}"; SET synchronous_commit = off`);
  let n = 0;
  try {
    const absent = schools.map(() =>
      Array.from({ length: perSchool }, () => {
        const r = random();
        return r < 0.01 ? 0.55 : r < 0.1 ? 0.2 : 0.04;
      }),
    );
    for (const month of months) {
      const inMonth = marked.filter((d) => monthOf(d) === month);
      const rows: string[] = [];
      schools.forEach((school, s) => {
        for (let p = 0; p < perSchool; p++) {
          const codes: (string | null)[] = new Array(SLOTS_PER_MONTH).fill(null);
          const categories: (string | null)[] = new Array(SLOTS_PER_MONTH).fill(null);
          const imports: (string | null)[] = new Array(SLOTS_PER_MONTH).fill(null);
          const a = absent[s]![p]!;
          for (const day of inMonth) {
            const r = random();
            const given =
              r < a * 0.5
                ? 'I'
                : r < a * 0.8
                  ? 'N'
                  : r < a * 0.9
                    ? 'O'
                    : r < a
                      ? 'G'
                      : r < a + 0.02
                        ? 'L'
                        : '/';
            const code = given === 'N' && day < nStillOpenFrom ? 'O' : given;
            const category =
              code === '/' || code === 'L'
                ? 'present'
                : code === 'I'
                  ? 'authorised_absence'
                  : 'unauthorised_absence';
            for (const session of ['AM', 'PM']) {
              const slot = slotOf(day, session);
              codes[slot] = code === '/' && session === 'PM' ? '\\' : code;
              categories[slot] = category;
              imports[slot] = '1';
              n++;
            }
          }
          // COPY text: a backslash in the array literal is doubled once more.
          rows.push(
            `${school}\t${String(p + 1).padStart(6, '0')}\t${month}\t${textArray(codes).replace(/\\/g, '\\\\')}\t${textArray(categories)}\t${none}\t${none}\t${textArray(imports)}\n`,
          );
        }
      });
      await pipeline(
        Readable.from(chunks(rows)),
        client.query(
          copyFrom(
            'COPY attendance_months (school_id, pupil_mis_id, month, codes, categories, local_codes, minutes_late, import_ids) FROM STDIN',
          ),
        ),
      );
    }
  } finally {
    await client.end();
  }
  return n;
}

function* chunks(rows: string[]) {
  for (let i = 0; i < rows.length; i += 2000) yield rows.slice(i, i + 2000).join('');
}

/**
 * What touching fresh memory costs this machine: 64 MB allocated outside the heap, written once per
 * 4 KB page (each write a page fault) — µs per page. Under half a µs is usual; this machine's is
 * printed beside the nightly figures because a new process pays it for every page it grows by.
 */
function firstTouchMicros(): number {
  const pages = 16_384;
  const b = Buffer.allocUnsafeSlow(pages * 4096);
  const t = performance.now();
  for (let p = 0; p < pages; p++) b[p * 4096] = 1;
  return round(((performance.now() - t) * 1000) / pages, 2);
}
