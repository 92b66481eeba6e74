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
 * A CTF names its pupils by UPN only. A UPN two of the school's pupils carry (an off-roll record and
 * the current one, after a re-admission under a new MIS id) cannot say which of them the marks are
 * for: the file is refused naming both, never matched to whichever the database returns first.
 */
const NOW = new Date('2025-01-20T12:00:00Z');
const school = configWith({ school: '    attendance: { academicYears: [2024] }' }).schools[0]!;
const schema = uniqueName('ctf_upn');
let db: Db;
let dir: string;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  dir = mkdtempSync(join(tmpdir(), 'doorstep-ctf-upn-'));
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

const ctf = `<CTfile><Header><CTFversion>25.0</CTFversion></Header><CTFpupilData><Pupil><UPN>A123456789012</UPN>
<Forename>Ann</Forename><Surname>One</Surname><Attendance><YearData><Year>2024</Year>
<AttendSessions><AttendanceStartDate>2025-01-13</AttendanceStartDate><AttendanceMarks>NNNN</AttendanceMarks></AttendSessions>
</YearData></Attendance></Pupil></CTFpupilData></CTfile>`;

describe('a CTF whose UPN more than one pupil carries', () => {
  it('is refused naming both pupils, and nothing of it is applied', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, upn, forename, surname, left_on) VALUES
         ('alpha', '1001', 'A123456789012', 'Ann', 'Old record', '2024-07-19'),
         ('alpha', '2002', 'A123456789012', 'Ann', 'One', NULL)`,
    );
    writeFileSync(join(dir, 'in.ctf.xml'), ctf);
    const applying = applyImportUnit(
      db,
      fileUnit(join(dir, 'in.ctf.xml'), 'ctf', school),
      importContextFor(school, NOW, { actor: 'test', source: 'ctf' }),
    );
    await expect(applying).rejects.toThrow(/pupils with MIS ids 1001 and 2002 have the same UPN/);
    await expect(applying).rejects.not.toThrow(/A123456789012/);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM attendance_marks');
    expect(rows[0]!.n).toBe(0);
    const { rows: names } = await db.query<{ surname: string }>(`SELECT surname FROM pupils ORDER BY mis_id`);
    expect(names.map((r) => r.surname)).toEqual(['Old record', 'One']);
  });
});
