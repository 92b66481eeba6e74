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
 * Found by review: a flag column (CP Plan, In Care, EHCP, …) present with an empty cell — how most
 * SIMS/Arbor reports show "no" — was read as not carried, so a CP plan that ended in the MIS stayed
 * set in Doorstep for good and the import called the pupil unchanged. Now a blank cell in a present
 * column clears the flag (false); a file without the column still leaves the flag as it was.
 */
const NOW = new Date('2025-01-20T12:00:00Z');
const schema = uniqueName('flagcleared');
const dir = mkdtempSync(join(tmpdir(), 'flag-cleared-'));
let db: Db;
const school = configWith({ mis: `{ kind: csv, dropFolder: "${dir}" }` }).schools[0]!;
const run = (p: string) =>
  applyImportUnit(
    db,
    fileUnit(p, 'csv', school),
    importContextFor(school, NOW, { actor: 'test', source: 'csv' }),
  );

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

describe('a flag column carried empty', () => {
  it('clears the flag (the CP plan ended in the MIS)', async () => {
    const a = join(dir, 'pupils-a.csv');
    writeFileSync(a, 'ID,Legal Forename,Legal Surname,CP Plan,In Care\n1001,Amelia,Okafor,Yes,Yes\n');
    await run(a);
    const b = join(dir, 'pupils-b.csv');
    writeFileSync(b, 'ID,Legal Forename,Legal Surname,CP Plan,In Care\n1001,Amelia,Okafor,,\n');
    const s = await run(b);
    expect(s.pupils).toEqual({ inserted: 0, updated: 1, unchanged: 0 });
    const { rows } = await db.query<{ flags: Record<string, boolean> }>(
      `SELECT flags FROM pupils WHERE mis_id = '1001'`,
    );
    expect(rows[0]!.flags.cpPlan).toBe(false);
    expect(rows[0]!.flags.lac).toBe(false);
  });

  it('a file without the column leaves the flag as it was', async () => {
    const a = join(dir, 'pupils-c.csv');
    writeFileSync(a, 'ID,Legal Forename,Legal Surname,CP Plan\n1002,Ben,Smith,Yes\n');
    await run(a);
    const b = join(dir, 'pupils-d.csv');
    writeFileSync(b, 'ID,Legal Forename,Legal Surname\n1002,Ben,Smith\n');
    const s = await run(b);
    expect(s.pupils).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
    const { rows } = await db.query<{ flags: Record<string, boolean> }>(
      `SELECT flags FROM pupils WHERE mis_id = '1002'`,
    );
    expect(rows[0]!.flags.cpPlan).toBe(true);
  });
});

describe('a pupils file cut short inside its last row (an upload that died)', () => {
  it("is refused whole: the cut row's empty CP Plan cell never clears the pupil's CP plan, nor is any row applied", async () => {
    const a = join(dir, 'pupils-full.csv');
    writeFileSync(a, 'ID,Legal Forename,Legal Surname,CP Plan\r\n1001,Ann,One,N\r\n1003,Cat,Three,Y\r\n');
    await run(a);
    // The same export a day later (Ann's name corrected), its upload cut off after the last comma.
    const b = join(dir, 'pupils-cut.csv');
    writeFileSync(b, 'ID,Legal Forename,Legal Surname,CP Plan\r\n1001,Anne,One,N\r\n1003,Cat,Three,');
    await expect(run(b)).rejects.toThrow(
      'pupils-cut.csv, line 3, record 2: the file ends in the middle of this row (no line break after it): is it cut short?',
    );
    const { rows } = await db.query<{ mis_id: string; forename: string; cp: boolean }>(
      `SELECT mis_id, forename, (flags->>'cpPlan')::boolean AS cp FROM pupils
       WHERE mis_id IN ('1001', '1003') ORDER BY mis_id`,
    );
    expect(rows).toEqual([
      { mis_id: '1001', forename: 'Ann', cp: false },
      { mis_id: '1003', forename: 'Cat', cp: true },
    ]);
  });
});
