import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUnit } from '../../connectors/mis/file-unit.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * Found by review: a child moves from Heath Lane (LEA 383, Estab 2001) to Beta (LEA 383, Estab 2002);
 * Beta, which gives no URN, imports the CTF Heath Lane made for it. Each YearData was compared with
 * the file's own SourceSchool — Heath Lane, so it passed — and one naming no school was taken
 * unchecked: Heath Lane's sessions, its N and I among them, were stored as Beta's marks and counted in
 * Beta's visit triggers. A CTF whose DestSchool is not its SourceSchool is a transfer into the
 * destination: the pupil's details are taken, and its sessions (recorded at the source school before
 * the pupil joined) are left out and said so. A school importing its own CTF still gets its marks.
 */
const NOW = new Date('2025-01-20T12:00:00Z');
const CTF = 'test/fixtures/mis/ctf/ctf25.xml';
const school = configWith({ school: '    attendance: { academicYears: [2024] }' }).schools[0]!;
const schema = uniqueName('ctf_transfer');
let db: Db;
beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const importInto = (s: typeof school) =>
  applyImportUnit(db, fileUnit(CTF, 'ctf', s), importContextFor(s, NOW, { actor: 'test', source: 'ctf' }));
const marksOf = async (schoolId: string) =>
  (
    await db.query<{ m: string }>(
      `SELECT pupil_mis_id || ' ' || to_char(date, 'YYYY-MM-DD') || ' ' || session || ' ' || code AS m
       FROM attendance_marks WHERE school_id = $1 ORDER BY 1`,
      [schoolId],
    )
  ).rows.map((r) => r.m);

describe('an incoming transfer CTF, imported by a school that gives no URN', () => {
  it("takes the pupil's details and none of the other school's sessions, saying how many were left out", async () => {
    const beta = { ...school, id: 'beta' };
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, upn, forename, surname) VALUES ('beta', '5001', 'A123456789012', 'Amelia', 'Okafor')`,
    );
    const s = await importInto(beta);
    expect(await marksOf('beta')).toEqual([]);
    expect(s.marks).toMatchObject({ inserted: 0, updated: 0, unchanged: 0 });
    // No marks or flags changed: nothing is handed to trigger evaluation.
    expect(s.changedPupils).toEqual([]);
    // The pupil's details are taken (the date of birth Beta did not have).
    const { rows } = await db.query<{ dob: string }>(
      `SELECT to_char(dob, 'YYYY-MM-DD') AS dob FROM pupils WHERE school_id = 'beta' AND mis_id = '5001'`,
    );
    expect(rows).toEqual([{ dob: '2015-03-09' }]);
    expect(s.pupils).toEqual({ inserted: 0, updated: 1, unchanged: 0 });
    // Said in the summary: how many sessions, where they were recorded, and why they are not taken.
    expect(s.rejected).toContainEqual({
      where: 'ctf25.xml, line 12, record 1',
      reason: expect.stringMatching(
        /^field Attendance\/YearData \(line 19, 10 sessions\): expected this school's own sessions — these were recorded at Heath Lane Academy \(LEA 383 Estab 2001 URN 100001\) before the pupil joined: the file is a transfer Heath Lane Academy \(LEA 383 Estab 2001 URN 100001\) made for the school LEA 383 Estab 2002, so the pupil's details are taken and their sessions left out/,
      ),
    });
    // The other child, no pupil of Beta's, is not added, and nothing of theirs is held to come later.
    expect(s.rejected).toContainEqual({
      where: 'ctf25.xml, line 30',
      reason:
        "a pupil none of the school's pupils has the UPN of: not added from a CTF (the school's MIS export brings them, under their MIS id)",
    });
    const { rows: held } = await db.query(`SELECT 1 FROM held_marks WHERE school_id = 'beta'`);
    expect(held).toEqual([]);
    // Neither UPN is said.
    expect(JSON.stringify(s)).not.toMatch(/A123456789012|E523456789012/);
  });

  it('a school whose MIS export is the CTF adds the newcomer, with no marks', async () => {
    const delta = {
      ...school,
      id: 'delta',
      mis: { ...(school.mis as Extract<typeof school.mis, { dropFolder: string }>), kind: 'ctf' as const },
    };
    const s = await importInto(delta);
    expect(s.pupils).toMatchObject({ inserted: 2 });
    expect(await marksOf('delta')).toEqual([]);
    expect(s.rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/^field Attendance\/YearData \(line 19, 10 sessions\): /),
      expect.stringMatching(
        /^field Attendance\/YearData \(line 37, 6 sessions\): .*recorded at Heath Lane Academy/,
      ),
    ]);
  });
});

describe('a CTF that is the importing school’s own', () => {
  it('by its URN (the school that made it): its sessions are the school’s marks', async () => {
    const heath = { ...school, id: 'heath', urn: '100001' };
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, upn, forename, surname) VALUES ('heath', '7001', 'A123456789012', 'Amelia', 'Okafor')`,
    );
    const s = await importInto(heath);
    expect(await marksOf('heath')).toEqual([
      '7001 2025-01-13 AM /',
      '7001 2025-01-13 PM \\',
      '7001 2025-01-14 AM /',
      '7001 2025-01-14 PM \\',
      '7001 2025-01-15 AM N',
      '7001 2025-01-15 PM N',
      '7001 2025-01-16 AM I',
      '7001 2025-01-16 PM I',
      '7001 2025-01-17 AM /',
      '7001 2025-01-17 PM \\',
    ]);
    expect(s.rejected.map((r) => r.reason).join()).not.toContain('sessions');
  });
});
