import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FileFormat, fileUnit } from '../../connectors/mis/file-unit.ts';
import type { FileMisSettings } from '../../connectors/mis/settings.ts';
import type { ImportUnit, MarkRecord, MisBatch } from '../../connectors/mis/types.ts';
import type { SchoolConfig } from '../../src/config/schema.ts';
import { applyImportUnit, type ImportSummary } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import { listAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

const NOW = new Date('2025-01-20T12:00:00Z');
const schema = uniqueName('import');
const dir = mkdtempSync(join(tmpdir(), 'doorstep-import-'));
let db: Db;
let school: SchoolConfig;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  school = configWith({ school: '    attendance: { codeMap: { X01: B } }' }).schools[0]!;
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

function run(
  path: string,
  format: FileFormat = 'sims-xml',
  opts: { dryRun?: boolean; schoolId?: string; urn?: string; ctfSchool?: boolean } = {},
) {
  const { urn, ctfSchool, ...rest } = opts;
  opts = rest;
  const s = {
    ...school,
    ...(opts.schoolId ? { id: opts.schoolId } : {}),
    ...(urn ? { urn } : {}),
    // A school whose MIS export is the CTF (only there does a CTF add pupils).
    ...(ctfSchool ? { mis: { ...(school.mis as FileMisSettings), kind: 'ctf' as const } } : {}),
  };
  return applyImportUnit(
    db,
    fileUnit(path, format, s),
    importContextFor(s, NOW, { actor: 'test', source: format, ...opts }),
  );
}

function temp(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

const marksXml = (rows: string[]) =>
  `<?xml version="1.0" encoding="utf-8"?>\n<SessionAttendances>\n${rows.join('\n')}\n</SessionAttendances>\n`;
const mark = (id: string, date: string, session: string, code: string) =>
  `  <SessionAttendance><PersonID>${id}</PersonID><AttendanceDate>${date}</AttendanceDate><SessionName>${session}</SessionName><AttendanceMark>${code}</AttendanceMark><Comments/><MinsLate/></SessionAttendance>`;

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT (${sql})::int AS n`, params);
  return rows[0]!.n;
}

async function expectRefused(start: () => Promise<ImportSummary>, message: RegExp) {
  const marksBefore = await count('SELECT count(*) FROM attendance_marks');
  const pupilsBefore = await count('SELECT count(*) FROM pupils');
  await expect(start()).rejects.toThrow(message);
  expect(await count('SELECT count(*) FROM attendance_marks')).toBe(marksBefore);
  expect(await count('SELECT count(*) FROM pupils')).toBe(pupilsBefore);
}

describe('import pipeline (SIMS XML into PostgreSQL)', () => {
  it('imports pupils with flags and contacts from a Report Designer report', async () => {
    const s = await run('test/fixtures/mis/sims/pupils-report.xml');
    expect(s.pupils).toEqual({ inserted: 3, updated: 0, unchanged: 0 });
    const { rows } = await db.query<{
      mis_id: string;
      upn: string | null;
      dob: string;
      flags: object;
      year_group: string;
    }>(
      `SELECT mis_id, upn, to_char(dob, 'YYYY-MM-DD') AS dob, flags, year_group FROM pupils WHERE school_id = 'alpha' ORDER BY mis_id`,
    );
    expect(rows.map((r) => r.mis_id)).toEqual(['1001', '1002', '1003']);
    expect(rows[0]).toMatchObject({ upn: 'A123456789012', dob: '2015-03-09', year_group: 'Year 5' });
    expect(rows[0]!.flags).toMatchObject({ senEhcp: true, welfareConcern: true, cpPlan: false });
    expect(rows[1]!.flags).toMatchObject({ cpPlan: true, youngCarer: true });
    expect(rows[2]!.upn).toBeNull();
    expect(await count(`SELECT count(*) FROM pupil_contacts WHERE pupil_mis_id = '1001'`)).toBe(1);
    expect(await count(`SELECT count(*) FROM pupil_contacts WHERE pupil_mis_id = '1003'`)).toBe(0);
  });

  it('imports session marks with statutory code, category and local code', async () => {
    const s = await run('test/fixtures/mis/sims/session-attendance.xml');
    expect(s.marks).toEqual({ inserted: 10, updated: 0, unchanged: 0, corrected: 0, removed: 0 });
    expect(s.rejected).toEqual([]);
    expect(s.changedPupils).toEqual(['1001', '1002', '1003']);
    const { rows } = await db.query<{
      code: string;
      category: string;
      local_code: string | null;
      minutes_late: number | null;
    }>(
      `SELECT code, category, local_code, minutes_late FROM attendance_marks WHERE pupil_mis_id = '1002' ORDER BY date, session`,
    );
    expect(rows).toEqual([
      { code: 'L', category: 'present', local_code: null, minutes_late: 12 },
      { code: '\\', category: 'present', local_code: null, minutes_late: null },
      { code: 'B', category: 'approved_activity', local_code: 'X01', minutes_late: null },
      { code: 'I', category: 'authorised_absence', local_code: null, minutes_late: null },
    ]);
  });

  it('changes nothing when the same file is imported again', async () => {
    const s = await run('test/fixtures/mis/sims/session-attendance.xml');
    expect(s.marks).toEqual({ inserted: 0, updated: 0, unchanged: 10, corrected: 0, removed: 0 });
    expect(s.changedPupils).toEqual([]);
    const again = await run('test/fixtures/mis/sims/pupils-report.xml');
    expect(again.pupils).toEqual({ inserted: 0, updated: 0, unchanged: 3 });
  });

  it('replaces a corrected mark and audits the change', async () => {
    const p = temp(
      'correction.xml',
      marksXml([mark('1001', '2025-01-14', 'AM', 'I'), mark('1001', '2025-01-14', 'PM', 'N')]),
    );
    const s = await run(p);
    expect(s.marks).toEqual({ inserted: 0, updated: 1, unchanged: 1, corrected: 1, removed: 0 });
    expect(s.changedPupils).toEqual(['1001']);
    const audit = await listAudit(db, { entityType: 'attendance_mark', entityId: '1001/2025-01-14/AM' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: 'attendance.mark.corrected',
      actor: 'test',
      schoolId: 'alpha',
      before: { code: 'N' },
      after: { code: 'I', importId: Number(s.importId) },
    });
  });

  it('rejects marks for unknown pupils and outside the academic years, and applies the rest', async () => {
    const p = temp(
      'mixed.xml',
      marksXml([
        mark('1001', '2025-01-15', 'AM', '/'),
        mark('9999', '2025-01-15', 'AM', 'N'),
        mark('1001', '2022-10-03', 'AM', '/'),
        mark('1001', '2025-02-03', 'AM', '/'),
      ]),
    );
    const s = await run(p);
    expect(s.marks.inserted).toBe(1);
    // Each names the pupil its row is for by their MIS id (what their subject access and erasure find it by).
    expect(s.rejected).toEqual([
      {
        where: 'mixed.xml, line 5, record 3',
        reason: 'date 2022-10-03 is outside the accepted academic years (2024/25, 2023/24)',
        pupil: '1001',
      },
      { where: 'mixed.xml, line 6, record 4', reason: 'date 2025-02-03 is in the future', pupil: '1001' },
      {
        where: 'mixed.xml, line 4, record 2',
        reason: "unknown pupil 9999: not in the school's pupil list (import pupils first)",
        pupil: '9999',
      },
    ]);
  });

  it('counts identical duplicate rows once', async () => {
    const p = temp(
      'dupes.xml',
      marksXml([mark('1003', '2025-01-15', 'AM', 'G'), mark('1003', '2025-01-15', 'AM', 'G')]),
    );
    expect((await run(p)).marks).toMatchObject({ inserted: 1, unchanged: 0 });
  });

  it('refuses conflicting rows for one pupil and session, naming both lines', async () => {
    const p = temp(
      'conflict.xml',
      marksXml([mark('1003', '2025-01-16', 'AM', 'G'), mark('1003', '2025-01-16', 'AM', 'I')]),
    );
    await expectRefused(
      () => run(p),
      /conflict\.xml: pupil 1003 has different marks for 2025-01-16 AM on lines 3 and 4/,
    );
    expect(
      await count(`SELECT count(*) FROM imports WHERE unit = 'conflict.xml' AND status = 'refused'`),
    ).toBe(1);
  });

  it('refuses an unknown code, naming file, line and field', async () => {
    const p = temp(
      'unknown.xml',
      marksXml([mark('1001', '2025-01-16', 'AM', '/'), mark('1001', '2025-01-16', 'PM', 'Q9')]),
    );
    await expectRefused(
      () => run(p),
      /^unknown\.xml, line 4, record 2, field mark: unknown attendance code "Q9"/,
    );
  });

  it('refuses a withdrawn code dated from 2024-08-19', async () => {
    const p = temp('withdrawn.xml', marksXml([mark('1001', '2025-01-16', 'AM', 'H')]));
    await expectRefused(
      () => run(p),
      /field mark: withdrawn code: H \(agreed holiday\) was withdrawn on 2024-08-19/,
    );
  });

  it('rejects the row, never the file, of a withdrawn code dated before 2024-08-19 (legal then); the rest applies', async () => {
    // At NOW the accepted years are 2024/25 and 2023/24: July 2024 is taken, October 2022 is not.
    const p = temp(
      'old-codes.xml',
      marksXml([
        mark('1003', '2024-07-15', 'AM', 'H'),
        mark('1003', '2024-07-15', 'PM', 'N'),
        mark('1003', '2024-08-16', 'AM', 'J'),
        mark('1003', '2024-08-16', 'PM', 'Y'),
        mark('1003', '2022-10-03', 'AM', 'H'),
        mark('1003', '2025-01-16', 'AM', 'I'),
      ]),
    );
    const s = await run(p);
    expect(s.marks.inserted).toBe(2);
    expect(s.rejectedByCause).toEqual([
      {
        cause:
          'a code from before the 2024 code set (H, J or Y before 2024-08-19): no 2024 code means the same (the row not applied)',
        rows: 3,
        idKind: 'marks',
        ids: 3,
        first: ['H', 'J', 'Y'],
        firstAt: 'old-codes.xml, line 3, record 1',
      },
      // Its date first: a row of a year not taken is rejected for that, whatever its code.
      {
        cause: 'date outside the accepted academic years (2024/25, 2023/24)',
        rows: 1,
        idKind: 'dates',
        ids: 1,
        first: ['2022-10-03'],
        firstAt: 'old-codes.xml, line 7, record 5',
        years: [2022],
      },
    ]);
    expect(s.rejected[0]).toEqual({
      where: 'old-codes.xml, line 3, record 1',
      pupil: '1003',
      reason:
        'code "H" on 2024-07-15 AM is from before the 2024 code set (legal then, withdrawn on 2024-08-19); no code of the 2024 table means the same with certainty, so it is not taken (the rest are applied)',
    });
    const { rows } = await db.query<{ k: string }>(
      `SELECT to_char(date, 'YYYY-MM-DD') || ' ' || session || ' ' || code AS k FROM attendance_marks WHERE pupil_mis_id = '1003' AND (date < '2024-09-01' OR date = '2025-01-16') ORDER BY 1`,
    );
    expect(rows.map((r) => r.k)).toEqual(['2024-07-15 PM N', '2025-01-16 AM I']);
  });

  it('refuses a unit giving one session an old code and another mark, naming both lines; an old code repeated is rejected once more', async () => {
    // Its row rejected, the H is still a mark the export gave the session: the / is not applied alone.
    for (const [name, first, second] of [
      ['old-then-new.xml', 'H', '/'],
      ['new-then-old.xml', '/', 'H'],
      ['old-then-old.xml', 'H', 'J'],
    ] as const) {
      const p = temp(
        name,
        marksXml([mark('1003', '2024-07-15', 'AM', first), mark('1003', '2024-07-15', 'AM', second)]),
      );
      await expectRefused(
        () => run(p),
        new RegExp(
          `${name.replace('.', '\\.')}: pupil 1003 has different marks for 2024-07-15 AM on lines 3 and 4; one session can have only one mark`,
        ),
      );
    }
    // The same old code twice is one mark given twice: both rows rejected, the rest applied.
    const p = temp(
      'old-twice.xml',
      marksXml([
        mark('1003', '2024-07-15', 'AM', 'H'),
        mark('1003', '2024-07-15', 'PM', 'N'),
        mark('1003', '2024-07-15', 'AM', 'H'),
      ]),
    );
    const s = await run(p, 'sims-xml', { dryRun: true });
    expect(s.marks.inserted + s.marks.unchanged).toBe(1);
    expect(s.rejectedByCause).toMatchObject([
      { cause: expect.stringContaining('before the 2024 code set'), rows: 2 },
    ]);
  });

  it('refuses a unit giving one session a mark whose meaning the MIS differs on and another mark, naming both', async () => {
    const given = (
      line: number,
      mark: string,
      vendorCategory?: MarkRecord['vendorCategory'],
    ): MarkRecord => ({
      pupilMisId: '1003',
      date: '2025-01-15',
      session: 'AM',
      mark,
      ...(vendorCategory ? { vendorCategory } : {}),
      where: { unit: 'meaning', record: line },
    });
    const unit = (marks: MarkRecord[]): ImportUnit => ({
      label: 'meaning',
      async *batches(): AsyncGenerator<MisBatch> {
        yield { kind: 'marks', marks };
      },
    });
    const ctx = importContextFor(school, NOW, { actor: 'test', source: 'arbor', dryRun: true });
    // N the MIS counts as authorised (rejected), then / for the same session.
    await expectRefused(
      () => applyImportUnit(db, unit([given(1, 'N', 'authorised_absence'), given(2, '/', 'present')]), ctx),
      /meaning: pupil 1003 has different marks for 2025-01-15 AM on records 1 and 2/,
    );
    // The same row twice is one mark given twice: rejected, nothing refused.
    const twice = await applyImportUnit(
      db,
      unit([given(1, 'N', 'authorised_absence'), given(2, 'N', 'authorised_absence')]),
      ctx,
    );
    expect(twice.rejectedByCause).toMatchObject([
      { cause: expect.stringContaining("the MIS's meaning"), rows: 2 },
    ]);
  });

  it('refuses XML with a DOCTYPE or external entity without resolving it', async () => {
    const secret = temp('secret.txt', 'TOP-SECRET');
    const xxe = temp(
      'xxe.xml',
      `<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file://${secret}">]>\n<SessionAttendances>&e;</SessionAttendances>`,
    );
    await expectRefused(() => run(xxe), /xxe\.xml, line 2: a DOCTYPE is not allowed/);
    const bomb = temp(
      'bomb.xml',
      `<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n<SessionAttendances>&lol2;</SessionAttendances>`,
    );
    await expectRefused(() => run(bomb), /bomb\.xml, line 2: a DOCTYPE is not allowed/);
  });

  it('refuses a truncated file, an empty file and bytes in the wrong encoding', async () => {
    const full = marksXml([mark('1001', '2025-01-17', 'AM', '/'), mark('1001', '2025-01-17', 'PM', '/')]);
    await expectRefused(
      () => run(temp('truncated.xml', full.slice(0, full.length - 60))),
      /truncated\.xml, line \d+: not well-formed XML: the file ends inside a tag, comment or CDATA section: the file is cut short/,
    );
    await expectRefused(() => run(temp('empty.xml', '')), /empty\.xml: the file is empty/);
    const latin1 = Buffer.from(
      marksXml([mark('1001', '2025-01-17', 'AM', '/')]).replace(
        '<Comments/>',
        '<Comments>caf\u00e9</Comments>',
      ),
      'latin1',
    );
    // The line the bad byte is on is named (the Comments element's line).
    const line = latin1.subarray(0, latin1.indexOf(0xe9)).toString('latin1').split('\n').length;
    await expectRefused(
      () => run(temp('latin1.xml', latin1)),
      new RegExp(`latin1\\.xml, line ${line}: not valid utf-8 text`),
    );
  });

  it('refuses a record missing a required field, naming it', async () => {
    const p = temp(
      'nodate.xml',
      marksXml([
        '  <SessionAttendance><PersonID>1001</PersonID><SessionName>AM</SessionName><AttendanceMark>/</AttendanceMark></SessionAttendance>',
      ]),
    );
    await expectRefused(
      () => run(p),
      /nodate\.xml, line 3, record 1, field AttendanceDate: expected a date, got nothing/,
    );
  });

  it('changes nothing on a dry run', async () => {
    const p = temp('dry.xml', marksXml([mark('1001', '2025-01-17', 'AM', 'N')]));
    const s = await run(p, 'sims-xml', { dryRun: true });
    expect(s).toMatchObject({ status: 'dry-run', importId: null, marks: { inserted: 1 } });
    expect(await count(`SELECT count(*) FROM attendance_marks WHERE date = '2025-01-17'`)).toBe(0);
    expect(await count(`SELECT count(*) FROM imports WHERE unit = 'dry.xml'`)).toBe(0);
  });

  it('keeps schools apart', async () => {
    const s = await run('test/fixtures/mis/sims/session-attendance.xml', 'sims-xml', { schoolId: 'beta' });
    expect(s.marks.inserted).toBe(0);
    expect(s.rejected).toHaveLength(10);
  });
});

describe('import pipeline (CTF and CSV)', () => {
  it('imports CTF pupils and decodes their mark strings, matching pupils by UPN', async () => {
    // Imported by Heath Lane, the school that made it (its URN): its sessions are the school's own
    // (test/import/ctf-transfer.test.ts: the same file where another school imports it).
    const s = await run('test/fixtures/mis/ctf/ctf25.xml', 'ctf', { ctfSchool: true, urn: '100001' });
    // A123456789012 is pupil 1001 already (same names and date of birth: unchanged, and the address
    // the SIMS export gave is kept: a CTF carries none); E523456789012 is new and — the CTF being this
    // school's MIS export — keyed by its UPN (test/import/ctf-upn.test.ts: a school with another MIS).
    expect(s.pupils).toMatchObject({ inserted: 1, updated: 0 });
    expect(s.rejected).toEqual([]);
    const { rows } = await db.query<{ d: string; session: string; code: string }>(
      `SELECT to_char(date, 'YYYY-MM-DD') AS d, session, code FROM attendance_marks
       WHERE school_id = 'alpha' AND pupil_mis_id = 'E523456789012' ORDER BY date, session`,
    );
    expect(rows.map((r) => `${r.d} ${r.session} ${r.code}`)).toEqual([
      '2025-01-13 AM L',
      '2025-01-13 PM L',
      '2025-01-14 AM G',
      '2025-01-14 PM \\',
      '2025-01-15 AM /',
      '2025-01-15 PM \\',
    ]);
    // Pupil 1001's string runs to Sunday 19th; "#" (not in session) on the weekend stores no mark.
    expect(
      await count(
        `SELECT count(*) FROM attendance_marks WHERE pupil_mis_id = '1001' AND date = '2025-01-17'`,
      ),
    ).toBe(2);
    expect(
      await count(
        `SELECT count(*) FROM attendance_marks WHERE pupil_mis_id = '1001' AND date > '2025-01-17'`,
      ),
    ).toBe(0);
  });

  it('refuses a CTF mark that cannot be decoded unambiguously', async () => {
    const text = (await import('node:fs'))
      .readFileSync('test/fixtures/mis/ctf/ctf25.xml', 'utf8')
      .replace('LLG\\/\\', 'LLJ\\/\\');
    await expectRefused(
      () => run(temp('ambiguous-ctf.xml', text), 'ctf', { urn: '100001' }),
      /field AttendanceMarks: cannot decode "J" for 2025-01-14 AM unambiguously: J could be the withdrawn J or the first character of J1/,
    );
  });

  it("takes a CTF's J and Y before 2024-08-19 as the old codes: those rows rejected, the rest of the file applied", async () => {
    // The school's own CTF with last year's sessions: H, Y and J were codes then (J1, Y1–Y7 were not).
    const text = (await import('node:fs'))
      .readFileSync('test/fixtures/mis/ctf/ctf25.xml', 'utf8')
      .replace(
        '<AttendanceStartDate>2025-01-13</AttendanceStartDate>\n            <AttendanceMarks>LLG\\/\\</AttendanceMarks>',
        '<AttendanceStartDate>2024-07-15</AttendanceStartDate>\n            <AttendanceMarks>HHYYJJ</AttendanceMarks>',
      );
    expect(text).toContain('HHYYJJ');
    const s = await run(temp('old-codes-ctf.xml', text), 'ctf', { urn: '100001', dryRun: true });
    expect(s.status).toBe('dry-run');
    expect(s.marks.inserted + s.marks.unchanged + s.marks.updated).toBe(10);
    // One AttendSessions block is one row of the file (its marks share its line): one row rejected.
    expect(s.rejectedByCause).toMatchObject([
      {
        cause:
          'a code from before the 2024 code set (H, J or Y before 2024-08-19): no 2024 code means the same (the row not applied)',
        idKind: 'marks',
        rows: 1,
        // Each code of the block, not only its first.
        ids: 3,
        first: ['H', 'Y', 'J'],
      },
    ]);
    expect(s.rejected.map((r) => r.reason.slice(0, r.reason.indexOf(' is from')))).toEqual([
      'code "H" on 2024-07-15 AM',
      'code "H" on 2024-07-15 PM',
      'code "Y" on 2024-07-16 AM',
      'code "Y" on 2024-07-16 PM',
      'code "J" on 2024-07-17 AM',
      'code "J" on 2024-07-17 PM',
    ]);
  });

  it("refuses another school's CTF (its Header/SourceSchool/URN), naming both URNs; its own is imported", async () => {
    await expectRefused(
      () => run('test/fixtures/mis/ctf/ctf25.xml', 'ctf', { urn: '100002', dryRun: true }),
      /ctf25\.xml: this CTF comes from the school with URN 100001 \(Header\/SourceSchool\/URN\), not this school \(URN 100002\): another school's file is never imported here/,
    );
    const own = await run('test/fixtures/mis/ctf/ctf25.xml', 'ctf', { urn: '100001', dryRun: true });
    expect(own.status).toBe('dry-run');
    // A CTF that names no source school (its URN empty, or no SourceSchool) could be anyone's.
    const fixture = (await import('node:fs')).readFileSync('test/fixtures/mis/ctf/ctf25.xml', 'utf8');
    const empty = fixture.replace(/(<SourceSchool>[\s\S]*?<URN>)100001(<\/URN>)/, '$1$2');
    expect(empty).not.toBe(fixture);
    await expectRefused(
      () => run(temp('no-urn-ctf.xml', empty), 'ctf', { urn: '100001', dryRun: true }),
      /no-urn-ctf\.xml: this CTF names no source school \(Header\/SourceSchool\/URN is empty or missing\)/,
    );
  });

  it('refuses a CTF version it does not know', async () => {
    const text = (await import('node:fs'))
      .readFileSync('test/fixtures/mis/ctf/ctf25.xml', 'utf8')
      .replace('25.0', '19.0');
    await expectRefused(
      () => run(temp('old-ctf.xml', text), 'ctf'),
      /field Header\/CTFversion: expected CTF version 24\.x or 25\.x, got "19\.0"/,
    );
  });

  it('imports a wide CSV (AM/PM columns, UK dates)', async () => {
    const s = await run('test/fixtures/mis/csv/marks-wide.csv', 'csv');
    expect(s.marks.inserted + s.marks.updated + s.marks.unchanged).toBe(6);
  });

  it('reads Windows-1252 CSV when the school says so, and refuses it as UTF-8', async () => {
    const cp1252 = configWith({ mis: '{ kind: csv, dropFolder: ./d, encoding: windows-1252 }' }).schools[0]!;
    const ok = await applyImportUnit(
      db,
      fileUnit('test/fixtures/mis/csv/pupils-windows-1252.csv', 'csv', cp1252),
      importContextFor(cp1252, NOW, { actor: 'test' }),
    );
    expect(ok.pupils.inserted).toBe(1);
    const { rows } = await db.query<{ forename: string; surname: string }>(
      `SELECT forename, surname FROM pupils WHERE mis_id = '1005'`,
    );
    expect(rows[0]).toEqual({ forename: 'Ren\u00e9e', surname: 'O\u2019Neill' });
    await expectRefused(
      () => run('test/fixtures/mis/csv/pupils-windows-1252.csv', 'csv'),
      /not valid utf-8 text .*set the school's mis\.encoding: windows-1252/,
    );
  });

  it('reads a UTF-8 CSV with a BOM', async () => {
    const s = await run('test/fixtures/mis/csv/pupils-utf8-bom.csv', 'csv');
    expect(s.pupils.inserted + s.pupils.updated + s.pupils.unchanged).toBe(2);
    const { rows } = await db.query<{ surname: string }>(`SELECT surname FROM pupils WHERE mis_id = '1004'`);
    expect(rows[0]!.surname).toBe('O\u2019Neill');
  });
});

describe('paced imports (marks written in groups as the file is read, one transaction)', () => {
  const pace = { chunkMarks: 500, pauseRatio: 0.1 };
  const days = ['2025-01-13', '2025-01-14', '2025-01-15', '2025-01-16', '2025-01-17'];
  const earlier = ['2025-01-06', '2025-01-07', '2025-01-08', '2025-01-09', '2025-01-10'];
  const ids = Array.from({ length: 65 }, (_, i) => String(3001 + i));
  // 65 pupils × 10 days × 2 sessions = 1,300 marks: three chunks of about 500 (whole pupils).
  const rows = (code: (id: string, i: number) => string) =>
    ids.flatMap((id, i) =>
      [...earlier, ...days].flatMap((d) => [mark(id, d, 'AM', code(id, i)), mark(id, d, 'PM', '/')]),
    );
  const runPaced = (path: string, schoolId: string) => {
    const s = { ...school, id: schoolId };
    return applyImportUnit(
      db,
      fileUnit(path, 'sims-xml', s),
      importContextFor(s, NOW, { actor: 'test', source: 'sims-xml', writePace: pace }),
    );
  };
  /** The school's pupils 3001–3065 (the ids `rows` gives marks for). */
  const addPupils = (schoolId: string) =>
    db.query(`INSERT INTO pupils (school_id, mis_id) SELECT $1, g::text FROM generate_series(3001, 3065) g`, [
      schoolId,
    ]);
  beforeAll(async () => {
    for (const s of ['paced', 'unpaced']) await addPupils(s);
  });

  it('applies exactly what one statement applies, and counts a second run as unchanged', async () => {
    const p = temp('paced.xml', marksXml(rows(() => 'O')));
    const paced = await runPaced(p, 'paced');
    const whole = await run(p, 'sims-xml', { schoolId: 'unpaced' });
    expect(paced.marks).toEqual(whole.marks);
    expect(paced.marks).toMatchObject({ inserted: 1300, updated: 0, unchanged: 0 });
    expect(paced.changedPupils).toEqual(whole.changedPupils);
    expect(paced.changedPupils).toHaveLength(65);
    // Some pupils' marks corrected: only theirs are updated and named changed.
    const q = temp('paced-2.xml', marksXml(rows((id) => (id.endsWith('7') ? 'I' : 'O'))));
    const again = await runPaced(q, 'paced');
    expect(again.marks).toMatchObject({ inserted: 0, updated: 60, unchanged: 1240 });
    expect(again.changedPupils).toEqual(ids.filter((id) => id.endsWith('7')));
  });

  it('flushes its own log after each group, on a connection outside its transaction (none unpaced)', async () => {
    // The store as the import sees it, each statement it sends outside its transaction noted.
    const sent: string[] = [];
    const watched = new Proxy(db, {
      get(target, key) {
        if (key === 'query')
          return (sql: string, params?: readonly unknown[]) => {
            sent.push(sql);
            return target.query(sql, params);
          };
        const v = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const flushes = () => sent.filter((q) => /UPDATE wal_flush/.test(q)).length;
    const before = (await db.query<{ at: Date }>('SELECT at FROM wal_flush')).rows[0]!.at;
    await addPupils('flushed');
    const s = { ...school, id: 'flushed' };
    const p = temp('flushed.xml', marksXml(rows(() => 'O')));
    const paced = await applyImportUnit(
      watched,
      fileUnit(p, 'sims-xml', s),
      importContextFor(s, NOW, { actor: 'test', source: 'sims-xml', writePace: pace }),
    );
    expect(paced.marks).toMatchObject({ inserted: 1300 });
    // Three groups (25, 25 and 15 pupils of 20 marks), each flushed, each flush committed on its own.
    expect(flushes()).toBe(3);
    const after = (await db.query<{ at: Date }>('SELECT at FROM wal_flush')).rows[0]!.at;
    expect(after.getTime()).toBeGreaterThan(before.getTime());
    sent.length = 0;
    await addPupils('flushed-unpaced');
    const u = { ...school, id: 'flushed-unpaced' };
    await applyImportUnit(
      watched,
      fileUnit(p, 'sims-xml', u),
      importContextFor(u, NOW, { actor: 'test', source: 'sims-xml' }),
    );
    expect(flushes()).toBe(0);
  });

  it('refuses a conflict in its last chunk with nothing applied from the chunks before it', async () => {
    const before = await count(`SELECT count(*) FROM attendance_marks WHERE school_id = 'paced'`);
    const conflicting = [
      ...rows(() => 'G'),
      mark('3065', '2025-01-13', 'AM', 'I'), // the last pupil: the third chunk
    ];
    const p = temp('paced-conflict.xml', marksXml(conflicting));
    await expect(runPaced(p, 'paced')).rejects.toThrow(
      /paced-conflict\.xml: pupil 3065 has different marks for 2025-01-13 AM on lines \d+ and \d+/,
    );
    expect(await count(`SELECT count(*) FROM attendance_marks WHERE school_id = 'paced'`)).toBe(before);
    expect(
      await count(`SELECT count(*) FROM attendance_marks WHERE school_id = 'paced' AND code = 'G'`),
    ).toBe(0);
  });

  it('refuses a conflict with a mark a group applied earlier, naming both lines, with nothing kept', async () => {
    const before = await count(`SELECT count(*) FROM attendance_marks WHERE school_id = 'paced'`);
    // Pupil 3001's first mark is in the first group (written while the rest is read); its repeat is last.
    const p = temp('paced-early.xml', marksXml([...rows(() => 'G'), mark('3001', '2025-01-13', 'AM', 'I')]));
    await expect(runPaced(p, 'paced')).rejects.toThrow(
      /paced-early\.xml: pupil 3001 has different marks for 2025-01-13 AM on lines 13 and 1303/,
    );
    expect(await count(`SELECT count(*) FROM attendance_marks WHERE school_id = 'paced'`)).toBe(before);
    expect(
      await count(`SELECT count(*) FROM attendance_marks WHERE school_id = 'paced' AND code = 'G'`),
    ).toBe(0);
    expect(await count(`SELECT count(*) FROM audit_log WHERE after->>'code' = 'G'`)).toBe(0);
  });

  it('refuses a mark conflicting with an old code a group passed earlier (its row rejected), naming both lines', async () => {
    const before = await count(`SELECT count(*) FROM attendance_marks WHERE school_id = 'paced'`);
    // The H is in the first group (applied as read, its row rejected); the / for its session is last.
    const p = temp(
      'paced-old.xml',
      marksXml([
        mark('3001', '2024-07-15', 'AM', 'H'),
        ...rows(() => 'G'),
        mark('3001', '2024-07-15', 'AM', '/'),
      ]),
    );
    await expect(runPaced(p, 'paced')).rejects.toThrow(
      /paced-old\.xml: pupil 3001 has different marks for 2024-07-15 AM on lines 3 and 1304/,
    );
    expect(await count(`SELECT count(*) FROM attendance_marks WHERE school_id = 'paced'`)).toBe(before);
  });

  it('counts an identical repeat of a mark a group applied earlier once', async () => {
    const p = temp(
      'paced-early-dupe.xml',
      marksXml([...rows(() => 'O'), mark('3001', '2025-01-06', 'PM', '/')]),
    );
    expect((await runPaced(p, 'paced')).marks).toMatchObject({ inserted: 0, updated: 60, unchanged: 1240 });
  });

  it('reads a unit that repeats a session again with every mark staged, counting each record once in its progress', async () => {
    // Three batches as a reader gives them; the repeat is the last record, after groups of 500 were
    // applied as they were read.
    const records = (from: number, to: number): MarkRecord[] =>
      ids.slice(from, to).flatMap((id, i) =>
        [...earlier, ...days].flatMap((date, d) =>
          (['AM', 'PM'] as const).map((session, k) => ({
            pupilMisId: id,
            date,
            session,
            mark: '/',
            where: { unit: 'read-again', line: 1 + (from + i) * 20 + d * 2 + k },
          })),
        ),
      );
    const repeat = { ...records(1, 2)[0]!, where: { unit: 'read-again', line: 1301 } };
    let readings = 0;
    const unit: ImportUnit = {
      label: 'read-again',
      async *batches(): AsyncGenerator<MisBatch> {
        readings++;
        yield { kind: 'marks', marks: records(0, 30) };
        yield { kind: 'marks', marks: records(30, 65) };
        yield { kind: 'marks', marks: [repeat] };
      },
    };
    await addPupils('read-again');
    let progress = 0;
    const s = { ...school, id: 'read-again' };
    const summary = await applyImportUnit(db, unit, {
      ...importContextFor(s, NOW, { actor: 'test', source: 'sims-xml', writePace: pace }),
      onRecords: (n) => {
        progress += n;
      },
    });
    expect(summary.marks).toMatchObject({ inserted: 1300, updated: 0, unchanged: 0 });
    expect(progress).toBe(1301);
    expect(readings).toBe(2);
    // A repeat seen before any group was applied as read: the rest is staged, the unit read once.
    readings = 0;
    const early: ImportUnit = {
      label: 'read-once',
      async *batches(): AsyncGenerator<MisBatch> {
        readings++;
        yield { kind: 'marks', marks: [...records(0, 5), repeat, ...records(5, 65)] };
      },
    };
    const once = await applyImportUnit(
      db,
      early,
      importContextFor(s, NOW, { actor: 'test', source: 'sims-xml', writePace: pace }),
    );
    expect(once.marks).toMatchObject({ inserted: 0, updated: 0, unchanged: 1300 });
    expect(readings).toBe(1);
    // Marks applied as read, then pupils, then a conflicting repeat of an early mark: refused.
    const afterPupils: ImportUnit = {
      label: 'read-again-pupils',
      async *batches(): AsyncGenerator<MisBatch> {
        yield { kind: 'marks', marks: records(0, 30) };
        yield {
          kind: 'pupils',
          pupils: [{ misId: '3001', where: { unit: 'read-again-pupils', line: 1400 } }],
        };
        yield { kind: 'marks', marks: records(30, 65) };
        yield { kind: 'marks', marks: [{ ...repeat, mark: 'N' }] };
      },
    };
    await expect(
      applyImportUnit(
        db,
        afterPupils,
        importContextFor(s, NOW, { actor: 'test', source: 'sims-xml', writePace: pace }),
      ),
    ).rejects.toThrow(/pupil 3002 has different marks for 2025-01-06 AM on lines 21 and 1301/);
    // A conflicting repeat there is refused naming both lines (the first was applied as read).
    const conflict = { ...repeat, mark: 'I' };
    const refused: ImportUnit = {
      label: 'read-again-conflict',
      async *batches(): AsyncGenerator<MisBatch> {
        yield { kind: 'marks', marks: records(0, 30) };
        yield { kind: 'marks', marks: records(30, 65) };
        yield { kind: 'marks', marks: [conflict] };
      },
    };
    await expect(
      applyImportUnit(
        db,
        refused,
        importContextFor(s, NOW, { actor: 'test', source: 'sims-xml', writePace: pace }),
      ),
    ).rejects.toThrow(/pupil 3002 has different marks for 2025-01-06 AM on lines 21 and 1301/);
  });

  it('reads a file again from its start when it repeats a session, its byte and record progress counted once', async () => {
    const p = temp('paced-bytes.xml', marksXml([...rows(() => 'O'), mark('3001', '2025-01-06', 'PM', '/')]));
    await addPupils('bytes');
    const s = { ...school, id: 'bytes' };
    let bytes = 0;
    let records = 0;
    const summary = await applyImportUnit(
      db,
      fileUnit(p, 'sims-xml', s, (n) => {
        bytes += n;
      }),
      {
        ...importContextFor(s, NOW, { actor: 'test', source: 'sims-xml', writePace: pace }),
        onRecords: (n) => {
          records += n;
        },
      },
    );
    expect(summary.marks).toMatchObject({ inserted: 1300, updated: 0, unchanged: 0 });
    expect(bytes).toBe(statSync(p).size);
    expect(records).toBe(1301);
  });

  it('reports every mark of an unknown pupil, whichever group applied as read it was in', async () => {
    // Pupil 3999 is not in the school's list: one mark in the first group, two in the last.
    const p = temp(
      'paced-unknown.xml',
      marksXml([
        mark('3999', '2025-01-13', 'AM', '/'),
        ...rows(() => 'O'),
        mark('3999', '2025-01-13', 'PM', '/'),
        mark('3999', '2025-01-14', 'AM', 'N'),
      ]),
    );
    await addPupils('unknown-pupil');
    const summary = await runPaced(p, 'unknown-pupil');
    expect(summary.marks).toMatchObject({ inserted: 1300, updated: 0, unchanged: 0 });
    expect(summary.rejectedRows).toBe(3);
    expect(summary.rejected.map((r) => r.where)).toEqual([
      'paced-unknown.xml, line 3, record 1',
      'paced-unknown.xml, line 1304, record 1302',
      'paced-unknown.xml, line 1305, record 1303',
    ]);
    expect(
      await count(
        `SELECT count(*) FROM attendance_marks WHERE school_id = 'unknown-pupil' AND pupil_mis_id = '3999'`,
      ),
    ).toBe(0);
  });

  it('applies marks read before their pupils once the pupils are in, counting each mark once', async () => {
    const where = (line: number) => ({ unit: 'mixed', line });
    const marks = (ids: string[], from: number): MarkRecord[] =>
      ids.flatMap((id, i) =>
        days.map((date, d) => ({
          pupilMisId: id,
          date,
          session: 'AM' as const,
          mark: '/',
          where: where(from + i * days.length + d),
        })),
      );
    const unit: ImportUnit = {
      label: 'mixed',
      async *batches(): AsyncGenerator<MisBatch> {
        // 3001 is known; 3901 arrives as a pupil only after its marks (and after a group was applied).
        yield { kind: 'marks', marks: [...marks(ids.slice(0, 60), 1), ...marks(['3901'], 400)] };
        yield { kind: 'marks', marks: marks(ids.slice(60), 500) };
        yield { kind: 'pupils', pupils: [{ misId: '3901', where: where(600) }] };
      },
    };
    const s = { ...school, id: 'mixed' };
    await addPupils('mixed');
    const ctx = importContextFor(s, NOW, {
      actor: 'test',
      source: 'sims-xml',
      writePace: { chunkMarks: 100, pauseRatio: 0 },
    });
    const first = await applyImportUnit(db, unit, ctx);
    expect(first.marks).toMatchObject({ inserted: 330, updated: 0, unchanged: 0 });
    expect(first.pupils.inserted).toBe(1);
    expect(first.rejected).toEqual([]);
    expect(
      await count(
        `SELECT count(*) FROM attendance_marks WHERE school_id = 'mixed' AND pupil_mis_id = '3901'`,
      ),
    ).toBe(5);
    const again = await applyImportUnit(db, unit, ctx);
    expect(again.marks).toMatchObject({ inserted: 0, updated: 0, unchanged: 330 });
  });

  it('rejects a pupil id with a lone UTF-16 surrogate (PostgreSQL would merge it with another), naming the cause', async () => {
    const unit: ImportUnit = {
      label: 'surrogate',
      async *batches(): AsyncGenerator<MisBatch> {
        yield {
          kind: 'marks',
          marks: [
            {
              pupilMisId: '3001',
              date: '2025-01-20',
              session: 'AM',
              mark: '/',
              where: { unit: 'surrogate', line: 1 },
            },
            {
              pupilMisId: '3001\uD800',
              date: '2025-01-20',
              session: 'AM',
              mark: 'O',
              where: { unit: 'surrogate', line: 2 },
            },
          ],
        };
      },
    };
    const s = { ...school, id: 'paced' };
    const r = await applyImportUnit(
      db,
      unit,
      importContextFor(s, NOW, { actor: 'test', source: 'sims-xml' }),
    );
    expect(r.marks).toMatchObject({ inserted: 1, updated: 0, unchanged: 0 });
    expect(r.rejectedByCause).toEqual([
      expect.objectContaining({ cause: 'pupil id not well-formed text (a lone UTF-16 surrogate)', rows: 1 }),
    ]);
    expect(
      await count(`SELECT count(*) FROM attendance_marks WHERE school_id = 'paced' AND date = '2025-01-20'`),
    ).toBe(1);
  });

  it('refuses a unit with a value PostgreSQL refuses (SQLSTATE class 22), recording its SQLSTATE and never the value', async () => {
    const unit: ImportUnit = {
      label: 'nul.csv',
      async *batches(): AsyncGenerator<MisBatch> {
        yield {
          kind: 'marks',
          marks: [
            {
              pupilMisId: '3001',
              date: '2025-01-20',
              session: 'AM',
              mark: '/',
              where: { unit: 'nul.csv', line: 2 },
            },
            {
              pupilMisId: 'Ame\u0000lia',
              date: '2025-01-20',
              session: 'PM',
              mark: '/',
              where: { unit: 'nul.csv', line: 3 },
            },
          ],
        };
      },
    };
    const s = { ...school, id: 'nul' };
    const refused = applyImportUnit(db, unit, importContextFor(s, NOW, { actor: 'test', source: 'csv' }));
    await expect(refused).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_REFUSED',
      message: expect.stringMatching(
        /^nul\.csv: the database refused a value in it \(SQLSTATE 22[0-9A-Z]{3}: a NUL character.*\); nothing of it is applied/,
      ),
    });
    const { rows } = await db.query<{ status: string; error: string }>(
      `SELECT status, error FROM imports WHERE school_id = 'nul'`,
    );
    expect(rows).toEqual([
      { status: 'refused', error: expect.stringMatching(/^nul\.csv: the database refused/) },
    ]);
    expect(rows[0]!.error).not.toMatch(/Ame/);
    expect(await count(`SELECT count(*) FROM attendance_marks WHERE school_id = 'nul'`)).toBe(0);
  });

  it('counts an identical repeat in a later chunk once', async () => {
    const p = temp('paced-dupe.xml', marksXml([...rows(() => 'O'), mark('3060', '2025-01-13', 'AM', 'O')]));
    expect((await runPaced(p, 'paced')).marks).toMatchObject({ inserted: 0, updated: 0, unchanged: 1300 });
  });
});

describe('the embedded store (PGlite) runs the same import', () => {
  it('applies marks group by group, refuses a conflicting repeat, and counts a re-import as unchanged', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'doorstep-import-pglite-'));
    const lite = await openStore({ dataDir });
    try {
      const s = { ...school, id: 'lite' };
      await lite.query(
        `INSERT INTO pupils (school_id, mis_id) SELECT 'lite', g::text FROM generate_series(5001, 5020) g`,
      );
      const rows = Array.from({ length: 20 }, (_, i) => String(5001 + i)).flatMap((id) =>
        ['2025-01-13', '2025-01-14', '2025-01-15'].flatMap((d) => [
          mark(id, d, 'AM', '/'),
          mark(id, d, 'PM', 'O'),
        ]),
      );
      const ctx = importContextFor(s, NOW, {
        actor: 'test',
        source: 'sims-xml',
        writePace: { chunkMarks: 500, pauseRatio: 0 },
      });
      const ok = temp('lite.xml', marksXml(rows));
      const first = await applyImportUnit(lite, fileUnit(ok, 'sims-xml', s), ctx);
      expect(first.marks).toMatchObject({ inserted: 120, updated: 0, unchanged: 0 });
      const bad = temp('lite-conflict.xml', marksXml([...rows, mark('5001', '2025-01-13', 'AM', 'N')]));
      await expect(applyImportUnit(lite, fileUnit(bad, 'sims-xml', s), ctx)).rejects.toThrow(
        /pupil 5001 has different marks for 2025-01-13 AM on lines 3 and 123/,
      );
      const again = await applyImportUnit(lite, fileUnit(ok, 'sims-xml', s), ctx);
      expect(again.marks).toMatchObject({ inserted: 0, updated: 0, unchanged: 120 });
    } finally {
      await lite.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
