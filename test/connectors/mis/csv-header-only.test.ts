import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv } from '../../../connectors/mis/csv/reader.ts';
import { fileUnit } from '../../../connectors/mis/file-unit.ts';
import { applyImportUnit } from '../../../src/import/apply-unit.ts';
import { importContextFor } from '../../../src/import/context.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../../helpers/services.ts';

/**
 * Found by review: a CSV marks export with its header and no rows (no registers taken since the last
 * export: a holiday, an INSET day, a 10:30 export of changes) was refused as "the file is empty" —
 * which it is not — and quarantined, the data page showing a refused import for a correct export.
 * Now a header-only marks file is no marks (as an empty SIMS XML document is); only a file without
 * a header row is empty, and a pupils export with no pupils is still refused, saying so.
 */
async function read(text: string): Promise<string> {
  const batches: unknown[] = [];
  try {
    for await (const b of readCsv(Readable.from([Buffer.from(text)]), { unit: 'marks.csv' })) batches.push(b);
  } catch (err) {
    return (err as Error).message;
  }
  return `${batches.length} batches`;
}

describe('a CSV with a header row and no rows', () => {
  it('is no marks when the header is a marks file’s (one per row, or AM/PM per day)', async () => {
    expect(await read('PersonID,AttendanceDate,SessionName,AttendanceMark\r\n')).toBe('0 batches');
    expect(await read('PersonID,AttendanceDate,AM,PM\n\n')).toBe('0 batches');
  });

  it('is refused when the header has no line break after it: a file cut short there would read as no marks', async () => {
    // (This file was once read as no marks. A marks file whose upload died after its header is not a
    // day without registers; a complete one saved without a final line break, as Google Sheets saves
    // it, cannot be told from it, so the refusal says what to do then.)
    expect(await read('PersonID,AttendanceDate,SessionName,AttendanceMark')).toBe(
      'marks.csv, line 1: the file ends in the middle of its header row (no line break after it): is it cut short? If the file is complete (Google Sheets saves its last row without a line break), add a line break at its end, or save it from Excel or the MIS',
    );
  });

  it('is refused when there is no header either (the file is empty)', async () => {
    expect(await read('')).toMatch(/^marks\.csv: the file is empty/);
    expect(await read('\r\n\r\n')).toMatch(/^marks\.csv: the file is empty/);
  });

  it('is refused when the header is a pupils file’s (a pupils export never has none)', async () => {
    expect(await read('ID,UPN,Legal Forename,Legal Surname\n')).toMatch(
      /^marks\.csv: the file has its header row and no pupils/,
    );
  });

  it('is refused, as before, when the header is no known export’s', async () => {
    expect(await read('PersonID,AttendanceDate\n')).not.toBe('0 batches');
  });
});

describe('importing a header-only marks export', () => {
  const NOW = new Date('2025-01-20T12:00:00Z');
  const schema = uniqueName('csvheaderonly');
  const dir = mkdtempSync(join(tmpdir(), 'csv-header-only-'));
  let db: Db;
  const school = configWith({ mis: `{ kind: csv, dropFolder: "${dir}" }` }).schools[0]!;
  beforeAll(async () => {
    db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  });
  afterAll(async () => {
    await db.close();
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is applied, with no marks', async () => {
    const p = join(dir, 'marks.csv');
    writeFileSync(p, 'PersonID,AttendanceDate,SessionName,AttendanceMark\r\n');
    const s = await applyImportUnit(
      db,
      fileUnit(p, 'csv', school),
      importContextFor(school, NOW, { actor: 'test', source: 'csv' }),
    );
    expect(s.status).toBe('applied');
    expect(s.marks).toEqual({ inserted: 0, updated: 0, unchanged: 0, corrected: 0, removed: 0 });
    const { rows } = await db.query<{ status: string }>('SELECT status FROM imports');
    expect(rows).toEqual([{ status: 'applied' }]);
  });
});
