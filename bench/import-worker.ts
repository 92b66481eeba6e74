/**
 * One measured run in its own process (so peak RSS is its own): `doorstep` | `parse` | `xml2js` |
 * `copy` | `copy-keyed`. Prints one JSON line: { mode, marks, seconds, peakRssMb } (`doorstep` also
 * `againSeconds`: the same file imported a second time, every mark unchanged — a nightly re-export).
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { parseStringPromise } from 'xml2js';
import { fileUnit } from '../connectors/mis/file-unit.ts';
import { monthOf, SLOTS_PER_MONTH, slotOf } from '../src/domain/attendance/month-slots.ts';
import { applyImportUnit } from '../src/import/apply-unit.ts';
import { importContextFor } from '../src/import/context.ts';
import { textArray } from '../src/store/array-literal.ts';
import { openStore } from '../src/store/open.ts';
import { configWith } from '../test/helpers/config.ts';

const [mode, file, databaseUrl, schema] = process.argv.slice(2) as [string, string, string, string];
let peak = 0;
let peakHeap = 0;
const sample = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 20);
const started = performance.now();
let marks = 0;

if (mode === 'doorstep') {
  const db = await openStore({ databaseUrl, dataDir: 'unused', schema });
  const school = configWith({ school: '    attendance: { academicYears: [2024] }' }).schools[0]!;
  const wal0 = await walLsn(db);
  const t0 = performance.now();
  const s = await applyImportUnit(
    db,
    fileUnit(file, 'sims-xml', school),
    importContextFor(school, new Date('2025-08-01T12:00:00Z'), { actor: 'bench', source: 'sims-xml' }),
  );
  marks = s.marks.inserted + s.marks.updated + s.marks.unchanged;
  if (s.rejected.length) throw new Error(`bench rows rejected: ${JSON.stringify(s.rejected.slice(0, 3))}`);
  const seconds = performance.now() - t0;
  const walBytes = await walSince(db, wal0);
  const t1 = performance.now();
  const again = await applyImportUnit(
    db,
    fileUnit(file, 'sims-xml', school),
    importContextFor(school, new Date('2025-08-01T12:00:00Z'), { actor: 'bench', source: 'sims-xml' }),
  );
  if (again.marks.unchanged !== marks) throw new Error(`second import: ${JSON.stringify(again.marks)}`);
  report(seconds, { againSeconds: (performance.now() - t1) / 1000, walBytes });
  await db.close();
} else if (mode === 'parse') {
  // Doorstep's own streamed reader alone, no database: the ceiling the parse sets on any import.
  const school = configWith({ school: '    attendance: { academicYears: [2024] }' }).schools[0]!;
  const t0 = performance.now();
  for await (const batch of fileUnit(file, 'sims-xml', school).batches()) {
    if (batch.kind === 'marks') marks += batch.marks.length;
  }
  report(performance.now() - t0);
} else if (mode === 'xml2js') {
  const doc = await parseStringPromise(readFileSync(file, 'utf8'));
  marks = doc.SessionAttendances.SessionAttendance.length;
  report(performance.now() - started);
} else if (mode === 'copy' || mode === 'copy-keyed') {
  // The same rows, already as text in memory: the database's raw load rate, no parsing or upsert —
  // a row per mark into a bare table (`copy`), or the marks as they are kept — a month of a pupil's
  // marks per row — into a table made like the marks table, its key included (`copy-keyed`: what
  // writing these marks where they belong costs the database at the least).
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`SET search_path = "${schema}"`);
  await client.query(
    mode === 'copy'
      ? 'CREATE TABLE copy_bare (school_id text, pupil_mis_id text, date date, session text, code text, category text, local_code text, minutes_late int, import_id bigint)'
      : 'CREATE TABLE copy_keyed (LIKE attendance_months INCLUDING ALL)',
  );
  const text = readFileSync(file, 'utf8');
  const re =
    /<PersonID>(\d+)<\/PersonID><AttendanceDate>([\d-]+)<\/AttendanceDate><SessionName>(AM|PM)<\/SessionName><AttendanceMark>([^<]+)<\/AttendanceMark>/g;
  let rows: string[] = [];
  for (const m of text.matchAll(re))
    rows.push(`alpha\t${m[1]}\t${m[2]}\t${m[3]}\t${m[4] === '\\' ? '\\\\' : m[4]}\tpresent\t\\N\t\\N\t1\n`);
  marks = rows.length;
  if (mode === 'copy-keyed') rows = monthRows(text.matchAll(re));
  const wal0 = await walLsn(client);
  const t0 = performance.now();
  await pipeline(
    Readable.from(chunk(rows)),
    client.query(
      copyFrom(
        mode === 'copy'
          ? 'COPY copy_bare (school_id, pupil_mis_id, date, session, code, category, local_code, minutes_late, import_id) FROM STDIN'
          : 'COPY copy_keyed (school_id, pupil_mis_id, month, codes, categories, local_codes, minutes_late, import_ids) FROM STDIN',
      ),
    ),
  );
  const ms = performance.now() - t0;
  report(ms, { walBytes: await walSince(client, wal0) });
  await client.end();
}
clearInterval(sample);

// The write-ahead log the run wrote (every other commit on the server shares it: what an import
// writes there is what the alarm path's commits wait behind).
type Sql = { query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> };
async function walLsn(db: Sql): Promise<string> {
  return String((await db.query('SELECT pg_current_wal_insert_lsn() AS lsn')).rows[0]!.lsn);
}
async function walSince(db: Sql, from: string): Promise<number> {
  const { rows } = await db.query('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1)::float8 AS n', [
    from,
  ]);
  return Number(rows[0]!.n);
}

/** The marks as month rows (COPY text): each column an array of the month's 62 sessions. */
function monthRows(found: Iterable<RegExpMatchArray>): string[] {
  const months = new Map<string, { pupil: string; month: string; codes: (string | null)[] }>();
  for (const m of found) {
    const month = monthOf(m[2]!);
    const key = `${m[1]}/${month}`;
    let row = months.get(key);
    if (!row) {
      row = { pupil: m[1]!, month, codes: new Array(SLOTS_PER_MONTH).fill(null) };
      months.set(key, row);
    }
    row.codes[slotOf(m[2]!, m[3]!)] = m[4]!;
  }
  const copyText = (literal: string) => literal.replace(/\\/g, '\\\\');
  const none = textArray(new Array(SLOTS_PER_MONTH).fill(null));
  return [...months.values()].map((r) => {
    const present = r.codes.map((c) => (c === null ? null : 'present'));
    const imports = r.codes.map((c) => (c === null ? null : '1'));
    return `alpha\t${r.pupil}\t${r.month}\t${copyText(textArray(r.codes))}\t${textArray(present)}\t${none}\t${none}\t${textArray(imports)}\n`;
  });
}

function* chunk(rows: string[]) {
  for (let i = 0; i < rows.length; i += 5000) yield rows.slice(i, i + 5000).join('');
}

function report(ms: number, extra: Record<string, number> = {}) {
  peak = Math.max(peak, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024);
  console.log(
    JSON.stringify({
      mode,
      marks,
      seconds: ms / 1000,
      peakRssMb: peak / 1_048_576,
      peakHeapMb: peakHeap / 1_048_576,
      ...extra,
    }),
  );
}
