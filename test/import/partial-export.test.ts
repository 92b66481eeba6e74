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
 * An export that does not carry some of a pupil's fields — a names-and-flags report, a CTF (which has
 * no address) — leaves those fields as a fuller export gave them; a field it carries empty clears it.
 * Home visits go to the address on file: a partial export must not wipe it.
 */
const NOW = new Date('2025-01-20T12:00:00Z');
const school = configWith({ school: '    attendance: { academicYears: [2024] }' }).schools[0]!;
const schema = uniqueName('partial');
let db: Db;
let dir: string;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  dir = mkdtempSync(join(tmpdir(), 'doorstep-partial-'));
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

async function run(name: string, content: string, format: 'csv' | 'ctf') {
  writeFileSync(join(dir, name), content);
  await applyImportUnit(
    db,
    fileUnit(join(dir, name), format, school),
    importContextFor(school, NOW, { actor: 'test', source: format }),
  );
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT mis_id, upn, forename, address, to_char(dob, 'YYYY-MM-DD') AS dob, year_group, flags
     FROM pupils ORDER BY mis_id`,
  );
  return rows;
}

const ANN = { line1: '1 High St', line2: null, town: 'Leeds', postcode: 'LS1 1AA' };
const BO = { line1: '2 Low Rd', line2: null, town: 'Leeds', postcode: 'LS2 2BB' };

describe('an export that carries only some fields', () => {
  it('keeps the fields it does not carry, and clears the ones it carries empty', async () => {
    await run(
      'full.csv',
      'ID,UPN,Legal Forename,Legal Surname,DOB,Year,Address Line 1,Town,Postcode\n' +
        '1001,A123456789012,Ann,One,2015-03-01,Y4,1 High St,Leeds,LS1 1AA\n' +
        '2002,B123456789012,Bo,Two,2014-05-05,Y5,2 Low Rd,Leeds,LS2 2BB\n',
      'csv',
    );
    // Names and a flag only: Ann's address, date of birth, year and UPN stay.
    const afterFlags = await run(
      'flags-only.csv',
      'ID,Legal Forename,Legal Surname,CP Plan\n1001,Ann,One,Yes\n',
      'csv',
    );
    expect(afterFlags[0]).toMatchObject({
      mis_id: '1001',
      upn: 'A123456789012',
      address: ANN,
      dob: '2015-03-01',
      year_group: 'Y4',
      flags: { cpPlan: true },
    });
    // A CTF (no address at all) for Bo: his address stays.
    const afterCtf = await run(
      'transfer.ctf.xml',
      '<CTfile><Header><CTFversion>25.0</CTFversion></Header><CTFpupilData><Pupil><UPN>B123456789012</UPN>' +
        '<Forename>Bo</Forename><Surname>Two</Surname></Pupil></CTFpupilData></CTfile>',
      'ctf',
    );
    expect(afterCtf[1]).toMatchObject({ mis_id: '2002', address: BO, dob: '2014-05-05', year_group: 'Y5' });
    // A postcode column alone: Bo's postcode is corrected, his street and town stay.
    const postcode = await run('postcodes.csv', 'ID,Postcode\n2002,LS2 9ZZ\n', 'csv');
    expect(postcode[1]).toMatchObject({ mis_id: '2002', address: { ...BO, postcode: 'LS2 9ZZ' } });
    // The address columns present but empty: the school says Ann has no address on file now.
    const cleared = await run(
      'moved.csv',
      'ID,Legal Forename,Legal Surname,Address Line 1,Town,Postcode\n1001,Ann,One,,,\n',
      'csv',
    );
    expect(cleared[0]).toMatchObject({ mis_id: '1001', address: null, dob: '2015-03-01' });
  });
});

describe('a UPN that is not one', () => {
  it('is not taken: the pupil (and the rest of the file) is applied, the UPN Doorstep had kept, the field reported', async () => {
    await run('first.csv', 'ID,UPN,Legal Forename,Legal Surname\n3003,C123456789012,Cy,Three\n', 'csv');
    writeFileSync(
      join(dir, 'typo.csv'),
      'ID,UPN,Legal Forename,Legal Surname,Year\n3003,C12345678901,Cy,Three,Y6\n4004,not-a-upn,Di,Four,Y3\n',
    );
    const summary = await applyImportUnit(
      db,
      fileUnit(join(dir, 'typo.csv'), 'csv', school),
      importContextFor(school, NOW, { actor: 'test', source: 'csv' }),
    );
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT mis_id, upn, year_group FROM pupils WHERE mis_id IN ('3003', '4004') ORDER BY mis_id`,
    );
    // Cy keeps the UPN he had and takes his new year; Di, new, is in (her marks will be too).
    expect(rows).toEqual([
      { mis_id: '3003', upn: 'C123456789012', year_group: 'Y6' },
      { mis_id: '4004', upn: null, year_group: 'Y3' },
    ]);
    expect(summary.rejectedRows).toBe(2);
    expect(summary.rejectedByCause).toEqual([
      expect.objectContaining({
        cause: expect.stringMatching(/field UPN not a 13-character UPN/),
        rows: 2,
        ids: 2,
        first: ['3003', '4004'],
      }),
    ]);
    expect(JSON.stringify(summary.rejected)).not.toContain('not-a-upn');
  });
});
