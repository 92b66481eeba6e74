import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUnit } from '../../connectors/mis/file-unit.ts';
import type { MisSource } from '../../connectors/mis/types.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import { syncSchool } from '../../src/import/sync-school.ts';
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
    await expect(applying).rejects.toThrow(
      /in\.ctf\.xml: two pupils share a UPN: MIS id 1001 and MIS id 2002; a CTF names/,
    );
    await expect(applying).rejects.not.toThrow(/A123456789012/);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM attendance_marks');
    expect(rows[0]!.n).toBe(0);
    const { rows: names } = await db.query<{ surname: string }>(`SELECT surname FROM pupils ORDER BY mis_id`);
    expect(names.map((r) => r.surname)).toEqual(['Old record', 'One']);
  });
});

/** The school's own MIS export (SIMS here) as a source: each file one unit. */
function simsSource(paths: string[]): MisSource {
  return {
    kind: 'sims-xml',
    check: async () => ({ name: 'sims', ok: true, detail: '' }),
    async *pull() {
      for (const p of paths) yield fileUnit(p, 'sims-xml', beta);
    },
  };
}

/**
 * Beta here is the school that made the fixture (its URN 100001): the CTF is its own export, so its
 * sessions are its marks (test/import/ctf-transfer.test.ts: another school's transfer CTF gives none).
 */
const beta = { ...school, id: 'beta', urn: '100001' };
const UPN = 'E523456789012';
const importCtf = () =>
  applyImportUnit(
    db,
    fileUnit('test/fixtures/mis/ctf/ctf25.xml', 'ctf', beta),
    importContextFor(beta, NOW, { actor: 'test', source: 'ctf' }),
  );

describe("a CTF's newcomer, then the school's own MIS export of the same child", () => {
  it('is one pupil (the MIS export’s), with the CTF’s marks held until it comes, and the UPN never said', async () => {
    // The school's own CTF, imported into a school whose MIS is SIMS: no pupil has its UPNs yet.
    const s = await importCtf();
    // Neither pupil is added, nor counted as "unchanged": the summary (and the CLI's exit code 6,
    // nothing applied) says nothing of theirs was taken.
    expect(s.pupils).toEqual({ inserted: 0, updated: 0, unchanged: 0 });
    expect(s.rejected).toEqual([
      {
        where: 'ctf25.xml, line 12',
        reason:
          "a pupil none of the school's pupils has the UPN of: not added from a CTF (the school's MIS export brings them, under their MIS id) — their 10 marks are kept for 30 days and applied once it does",
      },
      {
        where: 'ctf25.xml, line 30',
        reason: expect.stringMatching(
          /^a pupil none of the school's pupils has the UPN of: .* their 6 marks are kept/,
        ),
      },
    ]);
    const { rows: added } = await db.query(`SELECT 1 FROM pupils WHERE school_id = 'beta'`);
    expect(added).toEqual([]);
    // Nothing the import keeps or reports names the UPN.
    expect(JSON.stringify(s)).not.toContain(UPN);
    const { rows: kept } = await db.query<{ row: string }>(
      `SELECT row_to_json(i)::text AS row FROM imports i WHERE school_id = 'beta'`,
    );
    expect(kept.map((r) => r.row).join()).not.toContain(UPN);

    // Next day the school's SIMS export lists the child under their SIMS id, with the same UPN, and
    // marks the next day.
    const pupils = join(dir, 'pupils.xml');
    writeFileSync(
      pupils,
      `<SuperStarReport><Record><ID>5001</ID><UPN>${UPN}</UPN><Legal_x0020_Forename>Yusuf</Legal_x0020_Forename><Legal_x0020_Surname>Haddad</Legal_x0020_Surname></Record></SuperStarReport>`,
    );
    const marks = join(dir, 'marks.xml');
    writeFileSync(
      marks,
      '<SessionAttendances><SessionAttendance><PersonID>5001</PersonID><AttendanceDate>2025-01-16</AttendanceDate><SessionName>AM</SessionName><AttendanceMark>/</AttendanceMark></SessionAttendance></SessionAttendances>',
    );
    const report = await syncSchool(db, beta, simsSource([pupils, marks]), { now: () => NOW, actor: 'test' });
    expect(report.applied.map((a) => a.unit)).toEqual([
      'pupils.xml',
      'marks.xml',
      '6 held marks from earlier ctf syncs',
    ]);

    const { rows } = await db.query<{ mis_id: string }>(`SELECT mis_id FROM pupils WHERE upn = $1`, [UPN]);
    expect(rows).toEqual([{ mis_id: '5001' }]);
    const { rows: stored } = await db.query<{ m: string }>(
      `SELECT pupil_mis_id || ' ' || to_char(date, 'YYYY-MM-DD') || ' ' || session || ' ' || code AS m
       FROM attendance_marks WHERE school_id = 'beta' ORDER BY date, session`,
    );
    expect(stored.map((r) => r.m)).toEqual([
      '5001 2025-01-13 AM L',
      '5001 2025-01-13 PM L',
      '5001 2025-01-14 AM G',
      '5001 2025-01-14 PM \\',
      '5001 2025-01-15 AM /',
      '5001 2025-01-15 PM \\',
      '5001 2025-01-16 AM /',
    ]);
    // The other CTF pupil's marks still wait for theirs; none held under the UPN now listed.
    const { rows: held } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM held_marks WHERE school_id = 'beta' AND pupil_mis_id = $1`,
      [`upn:${UPN}`],
    );
    expect(held[0]!.n).toBe(0);

    // The same CTF again: matched to pupil 5001 by UPN, never refused as ambiguous.
    const again = await importCtf();
    expect(again.marks.unchanged).toBe(6);
    // Pupil 5001 matched (and updated from the CTF's record); the other child, still no pupil of the
    // school's, is not counted at all.
    expect(again.pupils).toEqual({ inserted: 0, updated: 1, unchanged: 0 });
    const { rows: one } = await db.query(`SELECT 1 FROM pupils WHERE upn = $1`, [UPN]);
    expect(one).toHaveLength(1);
  });

  it('a pupil an earlier CTF added under the UPN, and the MIS pupil with it: refused without saying the UPN', async () => {
    await db.query(
      `INSERT INTO pupils (school_id, mis_id, upn, forename, surname) VALUES
         ('gamma', '5001', $1, 'Yusuf', 'Haddad'), ('gamma', $1, $1, 'Yusuf', 'Haddad')`,
      [UPN],
    );
    const gamma = { ...school, id: 'gamma' };
    const applying = applyImportUnit(
      db,
      fileUnit('test/fixtures/mis/ctf/ctf25.xml', 'ctf', gamma),
      importContextFor(gamma, NOW, { actor: 'test', source: 'ctf' }),
    );
    await expect(applying).rejects.toThrow(
      'ctf25.xml: two pupils share a UPN: MIS id 5001 and a pupil an earlier CTF added (known by the UPN only)',
    );
    await expect(applying).rejects.not.toThrow(UPN);
    const { rows } = await db.query<{ error: string }>(`SELECT error FROM imports WHERE school_id = 'gamma'`);
    expect(rows.map((r) => r.error).join()).not.toContain(UPN);
  });
});

describe('a CTF listing a newcomer twice (identical records)', () => {
  it('counts them neither as inserted nor as unchanged', async () => {
    const delta = { ...school, id: 'delta' };
    const pupil = `<Pupil><UPN>B123456789012</UPN><Forename>New</Forename><Surname>One</Surname></Pupil>`;
    writeFileSync(
      join(dir, 'twice.xml'),
      `<CTfile><Header><CTFversion>25.0</CTFversion></Header><CTFpupilData>\n${pupil}\n${pupil}\n</CTFpupilData></CTfile>`,
    );
    const s = await applyImportUnit(
      db,
      fileUnit(join(dir, 'twice.xml'), 'ctf', delta),
      importContextFor(delta, NOW, { actor: 'test', source: 'ctf' }),
    );
    expect(s.pupils).toEqual({ inserted: 0, updated: 0, unchanged: 0 });
    expect(s.rejectedRows).toBe(1);
  });
});
