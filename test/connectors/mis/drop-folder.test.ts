import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DropFolder, StillChanging } from '../../../connectors/mis/drop-folder/folder.ts';
import { DropFolderSource } from '../../../connectors/mis/drop-folder/source.ts';
import type { ImportUnit, MisSource } from '../../../connectors/mis/types.ts';
import { syncSchool } from '../../../src/import/sync-school.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../../helpers/services.ts';

/**
 * A drop folder is writable by whoever delivers the exports, so it is treated as hostile: links are
 * never followed, nothing planted in it is written through, and file names cannot forge lines.
 */
const schema = uniqueName('dropfolder');
const base = mkdtempSync(join(tmpdir(), 'doorstep-dropfolder-'));
const drop = join(base, 'drop');
const outside = join(base, 'outside');
const NOW = new Date('2025-01-20T12:00:00Z');
const OLD = new Date('2025-01-20T11:00:00Z');
const PUPILS_CSV = 'ID,UPN,Legal Forename,Legal Surname\n1001,A123456789012,Amelia,Okafor\n';
let db: Db;

const school = configWith({
  mis: `{ kind: csv, dropFolder: "${drop}" }`,
  school: '    attendance: { academicYears: [2024] }',
}).schools[0]!;

function sync() {
  return syncSchool(db, school, new DropFolderSource(school, 'csv', drop, () => NOW), {
    now: () => NOW,
    actor: 'test',
  });
}

/** Puts an entry in the drop folder and ages it past the settle time (a link itself, not its target). */
function settle(path: string) {
  execFileSync('touch', ['-h', '-d', OLD.toISOString(), path]);
}

async function count(sql: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT (${sql})::int AS n`);
  return rows[0]!.n;
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
  rmSync(base, { recursive: true, force: true });
});
beforeEach(async () => {
  rmSync(drop, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
  mkdirSync(drop, { recursive: true });
  mkdirSync(outside, { recursive: true });
  await db.query('DELETE FROM attendance_marks');
  await db.query('DELETE FROM pupils');
  await db.query('DELETE FROM imports');
});

describe('drop folder: regular files only, nothing followed or written through', () => {
  it('refuses a symbolic link to a file outside the folder without importing it, and quarantines the link itself', async () => {
    const target = join(outside, 'pupils.csv');
    writeFileSync(target, PUPILS_CSV);
    utimesSync(target, OLD, OLD);
    symlinkSync(target, join(drop, 'pupils.csv'));
    settle(join(drop, 'pupils.csv'));

    const report = await sync();

    expect(report.applied).toEqual([]);
    expect(report.refused).toEqual([
      {
        unit: 'pupils.csv',
        reason: expect.stringMatching(/pupils\.csv is a symbolic link: only regular files/),
      },
    ]);
    expect(await count('SELECT count(*) FROM pupils')).toBe(0);
    const { rows } = await db.query<{ status: string; error: string }>('SELECT status, error FROM imports');
    expect(rows).toEqual([{ status: 'refused', error: expect.stringContaining('symbolic link') }]);
    // The link moved as a link; its target is where it was, unchanged.
    expect(lstatSync(join(drop, 'quarantine', 'pupils.csv')).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe(PUPILS_CSV);
    // The data page's listing does not follow it either: no size of the target is shown.
    const listed = await new DropFolder(drop).quarantined();
    expect(listed).toEqual([
      { file: 'pupils.csv', bytes: null, kind: 'symbolic link', at: expect.any(String) },
    ]);
  });

  it('refuses a named pipe without opening it (no wait for a writer)', async () => {
    execFileSync('mkfifo', [join(drop, 'marks.csv')]);
    settle(join(drop, 'marks.csv'));
    const report = await sync();
    expect(report.refused).toEqual([
      { unit: 'marks.csv', reason: expect.stringMatching(/marks\.csv is a named pipe/) },
    ]);
  });

  it('never reads through a link swapped in after the folder was listed (O_NOFOLLOW on the open)', async () => {
    const target = join(outside, 'secret.csv');
    writeFileSync(target, PUPILS_CSV);
    symlinkSync(target, join(drop, 'late.csv'));
    const folder = new DropFolder(drop);
    await expect(folder.sha256(join(drop, 'late.csv'))).rejects.toThrow(/late\.csv is a symbolic link/);
    const chunks: Buffer[] = [];
    await expect(
      (async () => {
        for await (const c of folder.read(join(drop, 'late.csv'))) chunks.push(c as Buffer);
      })(),
    ).rejects.toThrow(/symbolic link/);
    expect(chunks).toEqual([]);
  });

  it('does not write through a link planted as the quarantine note: the refused file takes the next name', async () => {
    const victim = join(outside, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    mkdirSync(join(drop, 'quarantine'));
    symlinkSync(victim, join(drop, 'quarantine', 'bad.csv.error.txt'));
    writeFileSync(join(drop, 'bad.csv'), 'not,a\n"broken');
    settle(join(drop, 'bad.csv'));

    const report = await sync();

    expect(report.refused).toHaveLength(1);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(join(drop, 'quarantine', 'bad.csv.error.txt')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(drop, 'quarantine', 'bad.csv.1'), 'utf8')).toBe('not,a\n"broken');
    expect(readFileSync(join(drop, 'quarantine', 'bad.csv.1.error.txt'), 'utf8')).toMatch(
      /^2025-01-20T12:00:00\.000Z\nbad\.csv, line 2: not valid CSV: .*\n$/,
    );
  });

  it('refuses to move files into a quarantine/ or processed/ that is a link to elsewhere', async () => {
    symlinkSync(outside, join(drop, 'quarantine'));
    writeFileSync(join(drop, 'bad.csv'), '"broken');
    settle(join(drop, 'bad.csv'));
    await expect(sync()).rejects.toThrow(/quarantine is a symbolic link: .* must be real directories/);
    expect(readdirSync(outside)).toEqual([]);

    rmSync(join(drop, 'quarantine'));
    rmSync(join(drop, 'bad.csv'));
    symlinkSync(outside, join(drop, 'processed'));
    writeFileSync(join(drop, 'pupils.csv'), PUPILS_CSV);
    settle(join(drop, 'pupils.csv'));
    await expect(sync()).rejects.toThrow(/processed is a symbolic link/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('writes a file name with newlines and bidi overrides as one safe line in the note, the import row and the report', async () => {
    const evil = 'x\n2025-01-01T00:00:00.000Z\nINJECTED\u202Evsc.csv';
    writeFileSync(join(drop, evil), '"broken');
    utimesSync(join(drop, evil), OLD, OLD);

    const report = await sync();

    const safe = 'x_2025-01-01T00:00:00.000Z_INJECTED_vsc.csv';
    expect(report.refused).toEqual([{ unit: safe, reason: expect.stringMatching(new RegExp(`^${safe}`)) }]);
    const notes = readdirSync(join(drop, 'quarantine')).filter((n) => n.endsWith('.error.txt'));
    expect(notes).toHaveLength(1);
    const note = readFileSync(join(drop, 'quarantine', notes[0]!), 'utf8');
    expect(note.split('\n')).toEqual(['2025-01-20T12:00:00.000Z', expect.stringMatching(/^x_2025/), '']);
    expect(note).not.toMatch(/[\u202E\r]/);
    const { rows } = await db.query<{ unit: string; error: string }>('SELECT unit, error FROM imports');
    expect(rows).toEqual([{ unit: safe, error: expect.not.stringMatching(/[\n\u202E]/) }]);
    expect((await new DropFolder(drop).quarantined()).map((q) => q.file)).toEqual([safe]);
  });

  it('imports a file whose time is far ahead of this clock (a share whose clock runs ahead); one just ahead settles', async () => {
    writeFileSync(join(drop, 'future.csv'), PUPILS_CSV);
    execFileSync('touch', ['-d', '2030-01-01T00:00:00Z', join(drop, 'future.csv')]);
    writeFileSync(join(drop, 'skewed.csv'), PUPILS_CSV);
    execFileSync('touch', ['-d', new Date(NOW.getTime() + 60_000).toISOString(), join(drop, 'skewed.csv')]);
    const folder = new DropFolder(drop);
    const { ready, settling } = await folder.scan(NOW);
    expect(ready.map((e) => e.name)).toEqual(['future.csv']);
    expect(settling.map((e) => e.name)).toEqual(['skewed.csv']);
    const report = await sync();
    expect(report.applied.map((a) => a.unit)).toEqual(['future.csv']);
  });

  it('still imports a regular file and moves it to processed/', async () => {
    writeFileSync(join(drop, 'pupils.csv'), PUPILS_CSV);
    settle(join(drop, 'pupils.csv'));
    const report = await sync();
    expect(report.applied.map((s) => s.pupils.inserted)).toEqual([1]);
    expect(readdirSync(join(drop, 'processed', '2025-01-20'))).toEqual(['pupils.csv']);
    const { rows } = await db.query<{ sha256: string | null }>('SELECT sha256 FROM imports');
    expect(rows[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

/** The drop folder's source, with `meddle` run on each unit before it is imported (a writer at work). */
function meddling(meddle: (unit: ImportUnit) => ImportUnit): MisSource {
  const inner = new DropFolderSource(school, 'csv', drop, () => NOW);
  return {
    kind: inner.kind,
    check: () => inner.check(),
    async *pull() {
      for await (const unit of inner.pull()) yield meddle(unit);
    },
  };
}

const MARKS_HEADER = 'PersonID,AttendanceDate,SessionName,AttendanceMark\n';

async function marks(): Promise<string[]> {
  const { rows } = await db.query<{ m: string }>(
    `SELECT pupil_mis_id || ' ' || to_char(date, 'YYYY-MM-DD') || ' ' || session || ' ' || code AS m FROM attendance_marks ORDER BY 1`,
  );
  return rows.map((r) => r.m);
}

describe('drop folder: a file changed during its import is never archived unread', () => {
  beforeEach(async () => {
    writeFileSync(join(drop, 'pupils.csv'), 'ID,Legal Forename\n1001,A\n1002,B\n');
    settle(join(drop, 'pupils.csv'));
    expect((await sync()).applied).toHaveLength(1);
  });

  it('leaves a new copy renamed over the file being imported in the folder, and imports it at the next sync', async () => {
    const path = join(drop, 'marks.csv');
    writeFileSync(path, `${MARKS_HEADER}1001,2025-01-13,AM,/\n`);
    settle(path);
    const next = `${MARKS_HEADER}1001,2025-01-14,AM,N\n1001,2025-01-14,PM,N\n`;
    // The writer follows the README: writes `marks.csv.part`, renames it over `marks.csv`, while
    // the old `marks.csv` is being read.
    const source = meddling((unit) => ({
      ...unit,
      batches: async function* () {
        yield* unit.batches();
        writeFileSync(`${path}.part`, next);
        renameSync(`${path}.part`, path);
        settle(path);
      },
    }));

    const report = await syncSchool(db, school, source, { now: () => NOW, actor: 'test' });

    // The old file was complete and is applied; the new one is not moved with it.
    expect(report.applied.map((s) => s.unit)).toEqual(['marks.csv']);
    expect(report.refused).toEqual([]);
    expect(report.left).toEqual([
      {
        unit: 'marks.csv',
        reason:
          'marks.csv was replaced by another file while it was being imported: the new file stays in the drop folder, to be imported at the next sync',
      },
    ]);
    expect(readFileSync(path, 'utf8')).toBe(next);
    expect(readdirSync(join(drop, 'processed', '2025-01-20'))).toEqual(['pupils.csv']);

    const again = await sync();
    expect(again.applied.map((s) => s.marks.inserted)).toEqual([2]);
    expect(await marks()).toEqual(['1001 2025-01-13 AM /', '1001 2025-01-14 AM N', '1001 2025-01-14 PM N']);
    expect(readFileSync(join(drop, 'processed', '2025-01-20', 'marks.csv'), 'utf8')).toBe(next);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses, before anything is applied, a file that grows while it is read (a stalled writer resuming), and imports it whole at the next sync', async () => {
    const path = join(drop, 'marks.csv');
    writeFileSync(path, `${MARKS_HEADER}1001,2025-01-13,AM,N\n`);
    settle(path);
    // The source has opened and hashed the file; the writer appends the rest before it is imported.
    const source = meddling((unit) => {
      appendFileSync(path, '1002,2025-01-13,AM,N\n1002,2025-01-13,PM,N\n');
      return unit;
    });

    const report = await syncSchool(db, school, source, { now: () => NOW, actor: 'test' });

    expect(report.applied).toEqual([]);
    expect(report.refused).toEqual([]);
    expect(report.left).toEqual([
      { unit: 'marks.csv', reason: expect.stringMatching(/^marks\.csv changed while it was being imported/) },
    ]);
    expect(await marks()).toEqual([]);
    const { rows } = await db.query<{ status: string; error: string }>(
      `SELECT status, error FROM imports WHERE unit = 'marks.csv'`,
    );
    expect(rows).toEqual([
      {
        status: 'refused',
        error: expect.stringMatching(
          /^marks\.csv changed while it was being imported .*: nothing of it is applied; it stays in the drop folder/,
        ),
      },
    ]);
    expect(existsSync(join(drop, 'quarantine'))).toBe(false);

    settle(path);
    const again = await sync();
    expect(again.applied.map((s) => s.marks.inserted)).toEqual([3]);
    expect(await marks()).toEqual(['1001 2025-01-13 AM N', '1002 2025-01-13 AM N', '1002 2025-01-13 PM N']);
  });

  it('leaves to settle a file its writer began rewriting after the folder was listed (settled then): nothing of it applied or archived, and imports it whole at the next sync', async () => {
    const first = join(drop, 'a-first.csv');
    const path = join(drop, 'b-marks.csv');
    writeFileSync(first, `${MARKS_HEADER}1001,2025-01-13,AM,/\n`);
    execFileSync('touch', ['-d', '2025-01-20T10:00:00Z', first]);
    writeFileSync(path, `${MARKS_HEADER}1001,2025-01-13,PM,/\n`);
    settle(path);
    const rows = [
      '1001,2025-01-14,AM,N',
      '1001,2025-01-14,PM,N',
      '1002,2025-01-14,AM,N',
      '1002,2025-01-14,PM,N',
    ];
    let writer: number | undefined;
    // While a-first.csv is imported, the MIS's scheduled export starts overwriting b-marks.csv in
    // place (truncate, then write line by line): two of its four rows so far, a whole file to read.
    const source = meddling((unit) =>
      unit.label !== 'a-first.csv'
        ? unit
        : {
            ...unit,
            batches: async function* () {
              yield* unit.batches();
              writer = openSync(path, 'w');
              writeSync(writer, `${MARKS_HEADER}${rows.slice(0, 2).join('\n')}\n`);
            },
          },
    );

    const report = await syncSchool(db, school, source, { now: () => NOW, actor: 'test' });
    writeSync(writer!, `${rows.slice(2).join('\n')}\n`);
    closeSync(writer!);

    expect(report.applied.map((s) => s.unit)).toEqual(['a-first.csv']);
    expect(report.refused).toEqual([]);
    expect(report.left).toEqual([]);
    expect(await marks()).toEqual(['1001 2025-01-13 AM /']);
    expect(readdirSync(join(drop, 'processed', '2025-01-20')).sort()).toEqual(['a-first.csv', 'pupils.csv']);
    expect(existsSync(join(drop, 'quarantine'))).toBe(false);
    const { rows: imports } = await db.query(`SELECT 1 FROM imports WHERE unit = 'b-marks.csv'`);
    expect(imports).toEqual([]);

    settle(path);
    const again = await sync();
    expect(again.applied.map((s) => [s.unit, s.marks.inserted])).toEqual([['b-marks.csv', 4]]);
    expect(readFileSync(join(drop, 'processed', '2025-01-20', 'b-marks.csv'), 'utf8')).toBe(
      `${MARKS_HEADER}${rows.join('\n')}\n`,
    );
  });

  it('applies the settle rule to the file as opened: one changed within the settle time is not read', async () => {
    const path = join(drop, 'marks.csv');
    writeFileSync(path, `${MARKS_HEADER}1001,2025-01-13,AM,N\n`);
    const folder = new DropFolder(drop);
    await expect(folder.open(path, { now: new Date() })).rejects.toBeInstanceOf(StillChanging);
    settle(path);
    const [entry] = await folder.readyFiles(NOW);
    const file = await folder.open(path, { now: NOW, listed: entry!.listed });
    await file.close();
    // Changed since it was listed (the same size, another time): not read either.
    execFileSync('touch', ['-d', '2025-01-20T11:30:00Z', path]);
    await expect(folder.open(path, { now: NOW, listed: entry!.listed })).rejects.toThrow(/left to settle/);
  });

  it('refuses a unit whose file changed after its reader finished, before it commits', async () => {
    const path = join(drop, 'marks.csv');
    writeFileSync(path, `${MARKS_HEADER}1001,2025-01-13,AM,N\n`);
    settle(path);
    // The reader has read the whole file; the writer appends before the unit commits.
    const source = meddling((unit) => {
      const batches = unit.batches.bind(unit);
      let read = false;
      return {
        ...unit,
        batches: () => ({
          async *[Symbol.asyncIterator]() {
            for await (const b of batches()) {
              yield b;
              if (!read) {
                read = true;
                appendFileSync(path, '1002,2025-01-13,AM,N\n');
              }
            }
          },
        }),
      };
    });
    const report = await syncSchool(db, school, source, { now: () => NOW, actor: 'test' });
    expect(report.applied).toEqual([]);
    expect(report.left).toEqual([
      { unit: 'marks.csv', reason: expect.stringMatching(/^marks\.csv changed while it was being imported/) },
    ]);
    expect(await marks()).toEqual([]);
    expect(existsSync(path)).toBe(true);
  });

  it('sees a file rewritten in place with its modification time put back (the change time moves)', async () => {
    const path = join(drop, 'marks.csv');
    writeFileSync(path, `${MARKS_HEADER}1001,2025-01-13,AM,N\n`);
    settle(path);
    const before = lstatSync(path);
    const file = await new DropFolder(drop).open(path);
    try {
      expect(await file.change()).toBeUndefined();
      // The same size, other bytes, and the old modification time restored (as `touch -r` does).
      writeFileSync(path, `${MARKS_HEADER}1001,2025-01-13,AM,L\n`);
      utimesSync(path, before.atime, before.mtime);
      expect(lstatSync(path).mtimeMs).toBe(before.mtimeMs);
      expect(await file.change()).toMatch(/changed while it was being imported/);
    } finally {
      await file.close();
    }
  });

  it('records the checksum of the bytes it imported', async () => {
    const path = join(drop, 'marks.csv');
    const content = `${MARKS_HEADER}1001,2025-01-13,AM,N\n`;
    writeFileSync(path, content);
    settle(path);
    await sync();
    const { rows } = await db.query<{ sha256: string }>(
      `SELECT sha256 FROM imports WHERE unit = 'marks.csv'`,
    );
    expect(rows).toEqual([{ sha256: createHash('sha256').update(content).digest('hex') }]);
  });
});

describe('drop folder: one bad file never blocks the files after it', () => {
  it.each([
    [
      'a pupil name',
      'ID,UPN,Legal Forename,Legal Surname\n1001,A123456789012,Ame\u0000lia,Okafor\n',
      'Legal Forename',
    ],
    ['a mark pupil id', `${MARKS_HEADER}10\u000001,2025-01-13,AM,/\n`, 'PersonID'],
  ])(
    'quarantines a CSV with a NUL in %s, naming the line and field, and imports the next file',
    async (_, bad, field) => {
      writeFileSync(join(drop, '1-bad.csv'), bad);
      settle(join(drop, '1-bad.csv'));
      writeFileSync(join(drop, '2-good.csv'), 'ID,Legal Forename\n2002,Bo\n');
      utimesSync(join(drop, '2-good.csv'), NOW.getTime() / 1000 - 600, NOW.getTime() / 1000 - 600);

      const report = await sync();

      const reason = `1-bad.csv, line 2, record 1, field ${field}: holds a NUL character (U+0000), which no field can hold: expected text without control characters`;
      expect(report.refused).toEqual([{ unit: '1-bad.csv', reason }]);
      expect(report.applied.map((s) => s.unit)).toEqual(['2-good.csv']);
      expect(readFileSync(join(drop, 'quarantine', '1-bad.csv.error.txt'), 'utf8')).toBe(
        `${NOW.toISOString()}\n${reason}\n`,
      );
      const { rows } = await db.query<{ unit: string; status: string }>(
        'SELECT unit, status FROM imports ORDER BY id',
      );
      expect(rows).toEqual([
        { unit: '1-bad.csv', status: 'refused' },
        { unit: '2-good.csv', status: 'applied' },
      ]);
    },
  );

  it('quarantines a refused file with a long name (its note within the 255-byte limit), and imports the files after it', async () => {
    // 250 bytes: a legal name (80 accented characters in a report title), whose `.error.txt` is not.
    const long = (tail: string) => `${'é'.repeat(80)}${'x'.repeat(86 - tail.length)}${tail}.csv`;
    const first = long('');
    const second = long('2');
    expect(Buffer.byteLength(first)).toBe(250);
    writeFileSync(join(drop, first), 'ID,Legal Forename\n1001,"unclosed\n');
    utimesSync(join(drop, first), OLD.getTime() / 1000 - 120, OLD.getTime() / 1000 - 120);
    writeFileSync(join(drop, second), 'ID,Legal Forename\n1003,"unclosed\n');
    utimesSync(join(drop, second), OLD.getTime() / 1000 - 60, OLD.getTime() / 1000 - 60);
    writeFileSync(join(drop, 'good.csv'), 'ID,Legal Forename\n1002,B\n');
    settle(join(drop, 'good.csv'));

    const report = await sync();

    expect(report.refused.map((r) => r.unit)).toEqual([first, second]);
    expect(report.left).toEqual([]);
    expect(report.applied.map((s) => s.unit)).toEqual(['good.csv']);
    expect(await count(`SELECT count(*) FROM pupils WHERE mis_id = '1002'`)).toBe(1);
    expect(readdirSync(drop).sort()).toEqual(['processed', 'quarantine']);
    // Each kept whole beside its note, under a name cut at a character with a hash of the whole name
    // (two names that start alike stay two), its extension kept; every name within 255 bytes.
    const kept = readdirSync(join(drop, 'quarantine')).sort();
    expect(kept).toHaveLength(4);
    for (const n of kept) expect(Buffer.byteLength(n)).toBeLessThanOrEqual(255);
    const files = kept.filter((n) => !n.endsWith('.error.txt'));
    expect(files).toEqual([
      expect.stringMatching(/^é+x+~[0-9a-f]{12}\.csv$/),
      expect.stringMatching(/~[0-9a-f]{12}\.csv$/),
    ]);
    expect(files[0]).not.toBe(files[1]);
    for (const f of files) expect(kept).toContain(`${f}.error.txt`);
    expect(
      readFileSync(
        join(
          drop,
          'quarantine',
          `${files.find((f) => readFileSync(join(drop, 'quarantine', f), 'utf8').includes('1001'))!}.error.txt`,
        ),
        'utf8',
      ),
    ).toMatch(/^2025-01-20T12:00:00\.000Z\n.*line 2: not valid CSV: a quoted value is never closed/);
    expect((await new DropFolder(drop).quarantined()).map((q) => q.file).sort()).toEqual(files);

    // A 254-byte name delivered again that day, and imported: processed/ takes it as `….1`, shortened.
    const good = `${'é'.repeat(80)}${'x'.repeat(89)}g.csv`;
    expect(Buffer.byteLength(good)).toBe(254);
    for (const id of ['1004', '1005']) {
      writeFileSync(join(drop, good), `ID,Legal Forename\n${id},D\n`);
      settle(join(drop, good));
      expect((await sync()).applied.map((s) => s.unit)).toEqual([good]);
    }
    const processed = readdirSync(join(drop, 'processed', '2025-01-20')).filter((n) => n !== 'good.csv');
    expect(processed).toHaveLength(2);
    expect(processed).toContain(good);
    expect(processed).toContainEqual(expect.stringMatching(/^é+x+~[0-9a-f]{12}\.csv\.1$/));
    for (const n of processed) expect(Buffer.byteLength(n)).toBeLessThanOrEqual(255);
  });

  it('quarantines a file whose name is not UTF-8 under a printable name, with a note saying so, and imports the next file', async () => {
    // "Élèves.csv" as a Windows-1252 FTP client writes it: read as a string, the name had U+FFFD in it,
    // named no file, and was passed over at every sync — never imported, quarantined or reported.
    const raw = Buffer.concat([
      Buffer.from([0xc9]),
      Buffer.from('l'),
      Buffer.from([0xe8]),
      Buffer.from('ves.csv'),
    ]);
    const path = Buffer.concat([Buffer.from(`${drop}/`), raw]);
    writeFileSync(path, 'ID,Legal Forename\n1001,A\n');
    utimesSync(path, OLD.getTime() / 1000 - 60, OLD.getTime() / 1000 - 60);
    writeFileSync(join(drop, 'good.csv'), 'ID,Legal Forename\n1002,B\n');
    settle(join(drop, 'good.csv'));

    const report = await sync();

    const shown = '%C9l%E8ves.csv';
    expect(report.refused).toEqual([
      { unit: shown, reason: expect.stringMatching(/^%C9l%E8ves\.csv: its file name is not UTF-8/) },
    ]);
    expect(report.applied.map((s) => s.unit)).toEqual(['good.csv']);
    expect(readdirSync(drop, { encoding: 'buffer' }).map(String).sort()).toEqual(['processed', 'quarantine']);
    expect(readFileSync(join(drop, 'quarantine', shown), 'utf8')).toBe('ID,Legal Forename\n1001,A\n');
    expect(readFileSync(join(drop, 'quarantine', `${shown}.error.txt`), 'utf8')).toMatch(
      /^2025-01-20T12:00:00\.000Z\n%C9l%E8ves\.csv: its file name is not UTF-8 .*; deliver it under a UTF-8 name/,
    );
    const { rows } = await db.query<{ unit: string; status: string }>(
      'SELECT unit, status FROM imports ORDER BY id',
    );
    expect(rows).toEqual([
      { unit: shown, status: 'refused' },
      { unit: 'good.csv', status: 'applied' },
    ]);
    expect((await new DropFolder(drop).quarantined()).map((q) => q.file)).toEqual([shown]);
  });
});

describe('drop folder: a file imported already is not applied again', () => {
  beforeEach(async () => {
    writeFileSync(join(drop, 'pupils.csv'), 'ID,Legal Forename\n1001,A\n');
    settle(join(drop, 'pupils.csv'));
    expect((await sync()).applied).toHaveLength(1);
  });

  /** Drops `name` with `content`, settled, and syncs. */
  async function dropAndSync(name: string, content: string) {
    writeFileSync(join(drop, name), content);
    settle(join(drop, name));
    return sync();
  }

  it("leaves a later file's correction standing when the earlier file is dropped again, and says it was imported already", async () => {
    const monday = `${MARKS_HEADER}1001,2025-01-13,AM,O\n`;
    expect((await dropAndSync('monday.csv', monday)).applied.map((s) => s.marks.inserted)).toEqual([1]);
    const { rows: first } = await db.query<{ id: string; day: string }>(
      `SELECT id, to_char(finished_at AT TIME ZONE 'Europe/London', 'YYYY-MM-DD') AS day FROM imports WHERE unit = 'monday.csv'`,
    );
    // Tuesday's export corrects Monday's mark (unauthorised to illness).
    const tuesday = await dropAndSync('tuesday.csv', `${MARKS_HEADER}1001,2025-01-13,AM,I\n`);
    expect(tuesday.applied.map((s) => s.marks.updated)).toEqual([1]);

    // Monday's file, byte for byte, delivered again.
    const again = await dropAndSync('monday.csv', monday);

    expect(await marks()).toEqual(['1001 2025-01-13 AM I']);
    const reason = `monday.csv: already imported as import ${first[0]!.id} on ${first[0]!.day} (the same bytes); not applied again`;
    expect(again).toEqual({
      applied: [],
      refused: [],
      left: [],
      alreadyImported: [{ unit: 'monday.csv', reason }],
    });
    const { rows } = await db.query<{ status: string; error: string }>(
      `SELECT status, error FROM imports WHERE unit = 'monday.csv' ORDER BY id`,
    );
    expect(rows).toEqual([
      { status: 'applied', error: null },
      { status: 'already-imported', error: reason },
    ]);
    expect(readdirSync(join(drop, 'processed', '2025-01-20')).sort()).toEqual([
      'monday.csv',
      'monday.csv.1',
      'pupils.csv',
      'tuesday.csv',
    ]);
    expect(existsSync(join(drop, 'monday.csv'))).toBe(false);
  });

  it('applies a file again whose import left out marks of a pupil not imported then (import pupils first), then no more', async () => {
    const content = `${MARKS_HEADER}1001,2025-01-13,AM,N\n2001,2025-01-13,AM,N\n`;
    expect((await dropAndSync('marks.csv', content)).applied.map((s) => s.rejectedRows)).toEqual([1]);
    await dropAndSync('pupils-2.csv', 'ID,Legal Forename\n2001,B\n');

    const again = await dropAndSync('marks.csv', content);
    expect(again.applied.map((s) => [s.marks.inserted, s.rejectedRows])).toEqual([[1, 0]]);
    expect(await marks()).toEqual(['1001 2025-01-13 AM N', '2001 2025-01-13 AM N']);

    const third = await dropAndSync('marks.csv', content);
    expect(third.applied).toEqual([]);
    expect(third.alreadyImported).toEqual([
      {
        unit: 'marks.csv',
        reason: expect.stringMatching(
          /^marks\.csv: already imported as import \d+ on \d{4}-\d\d-\d\d \(the same bytes\); not applied again$/,
        ),
      },
    ]);
  });

  it("applies a file again whose marks were outside the school's academic years once the years are fixed, not before", async () => {
    // The school's accepted years as the data manager sets them: 2025/26 only, then 2024/25 added.
    const syncWith = (years: string) => {
      const s = configWith({
        mis: `{ kind: csv, dropFolder: "${drop}" }`,
        school: `    attendance: { academicYears: ${years} }`,
      }).schools[0]!;
      return syncSchool(db, s, new DropFolderSource(s, 'csv', drop, () => NOW), {
        now: () => NOW,
        actor: 'test',
      });
    };
    const put = (content: string, years: string) => {
      writeFileSync(join(drop, 'marks.csv'), content);
      settle(join(drop, 'marks.csv'));
      return syncWith(years);
    };
    const content = `${MARKS_HEADER}1001,2025-01-13,AM,O\n`;
    expect((await put(content, '[2025]')).applied.map((s) => s.rejectedRows)).toEqual([1]);
    // The same file with the same years: nothing a repeat would take.
    expect((await put(content, '[2025]')).alreadyImported).toHaveLength(1);
    // Nor once the list reads otherwise but still refuses its year (rolled on 1 September, reordered):
    // applied again, the old file would overwrite the marks corrected since.
    expect((await put(content, '[2026, 2025]')).alreadyImported).toHaveLength(1);
    expect((await put(content, '[2025, 2026]')).alreadyImported).toHaveLength(1);
    // The years fixed, the same export dropped again: applied, its mark stored.
    const fixed = await put(content, '[2024, 2025]');
    expect(fixed.alreadyImported).toEqual([]);
    expect(fixed.applied.map((s) => [s.marks.inserted, s.rejectedRows])).toEqual([[1, 0]]);
    expect(await marks()).toEqual(['1001 2025-01-13 AM O']);
    expect((await put(content, '[2024, 2025]')).alreadyImported).toHaveLength(1);
  });
});

describe("drop folder: a pupils snapshot with an earlier day's bytes is today's", () => {
  it('applies a pupils file whose CP plan has come back (the same bytes as two days before)', async () => {
    const put = async (content: string) => {
      writeFileSync(join(drop, 'pupils.csv'), content);
      settle(join(drop, 'pupils.csv'));
      return sync();
    };
    const withPlan = 'ID,Legal Forename,CP Plan\n1001,A,Yes\n';
    await put(withPlan);
    await put('ID,Legal Forename,CP Plan\n1001,A,No\n');
    const back = await put(withPlan);
    expect(back.alreadyImported).toEqual([]);
    expect(back.applied).toHaveLength(1);
    const { rows } = await db.query<{ flags: Record<string, boolean> }>(
      `SELECT flags FROM pupils WHERE mis_id = '1001'`,
    );
    expect(rows[0]!.flags.cpPlan).toBe(true);
  });
});

describe('drop folder: the marks of one drop after its pupils', () => {
  it("applies a pupils file written a second after the marks file for its new pupil first, so the new pupil's marks are stored", async () => {
    writeFileSync(join(drop, 'marks.csv'), `${MARKS_HEADER}2001,2025-01-13,AM,N\n2001,2025-01-13,PM,N\n`);
    execFileSync('touch', ['-d', '2025-01-20T11:00:00Z', join(drop, 'marks.csv')]);
    writeFileSync(join(drop, 'pupils.csv'), 'ID,Legal Forename\n2001,New\n');
    execFileSync('touch', ['-d', '2025-01-20T11:00:01Z', join(drop, 'pupils.csv')]);

    const report = await sync();

    expect(report.applied.map((s) => [s.unit, s.rejectedRows])).toEqual([
      ['pupils.csv', 0],
      ['marks.csv', 0],
    ]);
    expect(await marks()).toEqual(['2001 2025-01-13 AM N', '2001 2025-01-13 PM N']);
  });

  it('keeps the folder order otherwise: marks files among themselves oldest first, the others (one it cannot read) before them', async () => {
    // 1,001 pupils: each marks file (2,002 marks) is read past its first batch of records.
    const ids = Array.from({ length: 1001 }, (_, i) => 2001 + i);
    writeFileSync(join(drop, 'pupils.csv'), `ID,Legal Forename\n${ids.map((id) => `${id},P`).join('\n')}\n`);
    execFileSync('touch', ['-d', '2025-01-20T10:59:00Z', join(drop, 'pupils.csv')]);
    const rows = (code: string) =>
      ids.map((id) => `${id},2025-01-13,AM,${code}\n${id},2025-01-13,PM,${code}`);
    // The older file's marks, then the newer file's corrections: the newer one is applied last.
    writeFileSync(join(drop, 'b-old.csv'), `${MARKS_HEADER}${rows('O').join('\n')}\n`);
    execFileSync('touch', ['-d', '2025-01-20T10:30:00Z', join(drop, 'b-old.csv')]);
    writeFileSync(join(drop, 'c-broken.csv'), '"broken');
    execFileSync('touch', ['-d', '2025-01-20T10:40:00Z', join(drop, 'c-broken.csv')]);
    writeFileSync(join(drop, 'a-new.csv'), `${MARKS_HEADER}${rows('I').join('\n')}\n`);
    execFileSync('touch', ['-d', '2025-01-20T10:50:00Z', join(drop, 'a-new.csv')]);

    const report = await sync();

    expect(report.applied.map((s) => [s.unit, s.marks.inserted, s.marks.updated])).toEqual([
      ['pupils.csv', 0, 0],
      ['b-old.csv', 2002, 0],
      ['a-new.csv', 0, 2002],
    ]);
    expect(report.refused.map((r) => r.unit)).toEqual(['c-broken.csv']);
    const { rows: imports } = await db.query<{ unit: string }>('SELECT unit FROM imports ORDER BY id');
    expect(imports.map((r) => r.unit)).toEqual(['c-broken.csv', 'pupils.csv', 'b-old.csv', 'a-new.csv']);
    expect(await count(`SELECT count(*) FROM attendance_marks WHERE code = 'I'`)).toBe(2002);
  });
});
