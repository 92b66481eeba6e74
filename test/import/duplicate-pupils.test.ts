import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUnit } from '../../connectors/mis/file-unit.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * Found by review: a pupils export listing one pupil twice with different data (a CP plan Yes on one
 * line, No on the other; two home addresses) was applied silently, the last line winning — the data
 * manager never learnt the export contradicts itself, and a CP plan could drop out of the
 * safeguarding view. Now such a file is refused whole, naming the pupil and both lines (as two
 * different marks for one session are); identical repeated lines count once.
 */
const NOW = new Date('2025-01-20T12:00:00Z');
const schema = uniqueName('duppupils');
const dir = mkdtempSync(join(tmpdir(), 'dup-pupils-'));
let db: Db;
const school = configWith({ mis: `{ kind: csv, dropFolder: "${dir}" }` }).schools[0]!;
const HEADER = 'ID,UPN,Legal Forename,Legal Surname,Address Line 1,Postcode,CP Plan';
const run = (name: string, lines: string[]) => {
  const p = join(dir, name);
  writeFileSync(p, [HEADER, ...lines, ''].join('\r\n'));
  return applyImportUnit(
    db,
    fileUnit(p, 'csv', school),
    importContextFor(school, NOW, { actor: 'test', source: 'csv' }),
  );
};

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

describe('one pupil twice in one export', () => {
  it('with two different records refuses the file, naming the pupil and both lines', async () => {
    await expect(
      run('pupils.csv', [
        '1001,A123456789012,Amelia,Okafor,1 High St,AB1 2CD,Yes',
        '1002,A123456789013,Ben,Smith,2 High St,AB1 2CE,No',
        '1001,A123456789012,Amelia,Okafor,99 Other Rd,ZZ9 9ZZ,No',
      ]),
    ).rejects.toThrow(/pupils\.csv: pupil 1001 has different records on lines 2 and 4/);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pupils');
    expect(rows[0]!.n).toBe(0);
    const refused = await db.query<{ status: string; error: string }>(
      `SELECT status, error FROM imports WHERE unit = 'pupils.csv'`,
    );
    expect(refused.rows).toEqual([{ status: 'refused', error: expect.stringMatching(/lines 2 and 4/) }]);
  });

  it('with the same record twice applies it, counted once', async () => {
    const s = await run('pupils-again.csv', [
      '1001,A123456789012,Amelia,Okafor,1 High St,AB1 2CD,Yes',
      '1001,A123456789012,Amelia,Okafor,1 High St,AB1 2CD,Yes',
      '1002,A123456789013,Ben,Smith,2 High St,AB1 2CE,No',
    ]);
    expect(s.pupils).toEqual({ inserted: 2, updated: 0, unchanged: 0 });
    const again = await run('pupils-third.csv', [
      '1001,A123456789012,Amelia,Okafor,1 High St,AB1 2CD,Yes',
      '1001,A123456789012,Amelia,Okafor,1 High St,AB1 2CD,Yes',
    ]);
    expect(again.pupils).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
  });
});
