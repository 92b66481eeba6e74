import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUnit } from '../../connectors/mis/file-unit.ts';
import type { SchoolConfig } from '../../src/config/schema.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import { dataPageFacts } from '../../src/store/data-page.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * Found by review: a CTF's marks on days the calendar says are closed were recorded while the file
 * was read, before its UPNs were matched to the school's pupils, so the import summary and the data
 * page listed the child by UPN — a national identifier kept to the few who need it — and not by the
 * MIS id the data manager looks pupils up by (README: "MIS id and line, no names"). Now they are
 * listed under the matched pupil's MIS id, and the UPN is stored nowhere in the import row.
 */
const NOW = new Date('2025-01-20T12:00:00Z');
const schema = uniqueName('ctfcalendar');
const dir = mkdtempSync(join(tmpdir(), 'ctf-calendar-'));
let db: Db;
let school: SchoolConfig;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  school = configWith({
    school: `    calendar:
      terms:
        - { start: "2024-09-04", end: "2024-12-20" }
        - { start: "2025-01-06", end: "2025-04-04" }
      closures:
        - { from: "2025-01-06", kind: inset, note: "staff training" }`,
  }).schools[0]!;
  await applyImportUnit(
    db,
    fileUnit('test/fixtures/mis/sims/pupils-report.xml', 'sims-xml', school),
    importContextFor(school, NOW, { actor: 'test', source: 'sims-xml' }),
  );
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

describe('CTF: a mark on a closed day', () => {
  it('is listed in the summary and on the data page under the pupil MIS id, not the UPN', async () => {
    const p = join(dir, 'transfer.xml');
    writeFileSync(
      p,
      `<?xml version="1.0" encoding="UTF-8"?>
<CTfile>
  <Header><CTFversion>25.0</CTFversion><SourceSchool><LEA>383</LEA><Estab>2001</Estab><URN>100001</URN></SourceSchool></Header>
  <CTFpupilData>
    <Pupil>
      <UPN>A123456789012</UPN>
      <Attendance><YearData><Year>2024</Year>
        <AttendSessions><AttendanceStartDate>2025-01-06</AttendanceStartDate><AttendanceMarks>N-</AttendanceMarks></AttendSessions>
      </YearData></Attendance>
    </Pupil>
  </CTFpupilData>
</CTfile>
`,
    );
    const s = await applyImportUnit(
      db,
      fileUnit(p, 'ctf', school),
      importContextFor(school, NOW, { actor: 'test', source: 'ctf' }),
    );
    expect(s.changedPupils).toEqual(['1001']);
    expect(s.calendarProblems.count).toBe(1);
    expect(s.calendarProblems.first.map((p) => p.pupil)).toEqual(['1001']);
    const facts = await dataPageFacts(db, school.id);
    const shown = (facts.imports[0]!.calendar_problems_first as { pupil: string }[]).map((x) => x.pupil);
    expect(shown).toEqual(['1001']);
    const { rows } = await db.query<{ kept: string }>(
      `SELECT calendar_problems::text AS kept FROM imports WHERE unit = 'transfer.xml'`,
    );
    expect(rows[0]!.kept).not.toContain('A123456789012');
  });
});
