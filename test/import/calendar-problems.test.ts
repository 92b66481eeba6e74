import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUnit } from '../../connectors/mis/file-unit.ts';
import { formatSummary } from '../../src/cli/import-command.ts';
import type { SchoolConfig } from '../../src/config/schema.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import { dataPageFacts } from '../../src/store/data-page.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * A mark on a day the school's calendar says is closed is accepted (the school may have met on a
 * day the config does not know) and reported on the import: pupil id, date, session, line and why
 * the calendar says closed. A '#' (planned closure) mark agrees with the calendar and is not.
 */
const NOW = new Date('2025-01-20T12:00:00Z');
const schema = uniqueName('calendar_problems');
let db: Db;
let school: SchoolConfig;

const run = (path: string) =>
  applyImportUnit(
    db,
    fileUnit(path, 'sims-xml', school),
    importContextFor(school, NOW, { actor: 'test', source: 'sims-xml' }),
  );

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  school = configWith({
    school: `    attendance: { codeMap: { X01: B } }
    calendar:
      terms:
        - { start: "2024-09-04", end: "2024-12-20" }
        - { start: "2025-01-06", end: "2025-04-04" }
      closures:
        - { from: "2025-01-06", kind: inset, note: "staff training" }`,
  }).schools[0]!;
  await run('test/fixtures/mis/sims/pupils-report.xml');
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

describe('marks on days the calendar says are closed', () => {
  it('keeps the marks and reports each with pupil, date, session, line and the reason', async () => {
    const s = await run('test/fixtures/mis/sims/session-attendance-inset.xml');
    // 20 rows: 19 stored, the unknown pupil's rejected.
    expect(s.marks.inserted).toBe(19);
    expect(s.rejected).toHaveLength(1);
    expect(s.calendarProblems.count).toBe(5);
    const unit = 'session-attendance-inset.xml';
    expect(s.calendarProblems.first).toEqual([
      {
        where: `${unit}, line 3, record 1`,
        pupil: '1001',
        date: '2025-01-06',
        session: 'AM',
        code: '/',
        closed: 'inset',
        note: 'staff training',
      },
      {
        where: `${unit}, line 4, record 2`,
        pupil: '1001',
        date: '2025-01-06',
        session: 'PM',
        code: '\\',
        closed: 'inset',
        note: 'staff training',
      },
      {
        where: `${unit}, line 7, record 5`,
        pupil: '1003',
        date: '2025-01-06',
        session: 'AM',
        code: 'N',
        closed: 'inset',
        note: 'staff training',
      },
      {
        where: `${unit}, line 8, record 6`,
        pupil: '1003',
        date: '2025-01-06',
        session: 'PM',
        code: 'N',
        closed: 'inset',
        note: 'staff training',
      },
      {
        where: `${unit}, line 21, record 19`,
        pupil: '1003',
        date: '2024-12-23',
        session: 'AM',
        code: 'G',
        closed: 'holiday',
      },
    ]);
    const kept = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM attendance_marks WHERE date = '2025-01-06' AND school_id = 'alpha'`,
    );
    expect(kept.rows[0]!.n).toBe(6);
  });

  it('is stored on the import record and listed, counted, on the data page', async () => {
    const facts = await dataPageFacts(db, 'alpha');
    const latest = facts.imports[0]!;
    expect(latest.calendar_problems).toBe(5);
    expect(
      (latest.calendar_problems_first as { pupil: string; closed: string }[]).map((p) => [p.pupil, p.closed]),
    ).toEqual([
      ['1001', 'inset'],
      ['1001', 'inset'],
      ['1003', 'inset'],
      ['1003', 'inset'],
      ['1003', 'holiday'],
    ]);
    // The pupils-report import before it had none.
    expect(facts.imports[1]!.calendar_problems).toBe(0);
  });

  it('prints them in the import summary by id and position (no names)', async () => {
    const s = await run('test/fixtures/mis/sims/session-attendance-inset.xml');
    expect(s.marks.unchanged).toBe(19);
    const lines = formatSummary('alpha', s).join('\n');
    expect(lines).toContain('marks on days the calendar says are closed: 5');
    expect(lines).toContain(
      'session-attendance-inset.xml, line 3, record 1: pupil 1001 2025-01-06 AM inset (staff training)',
    );
    expect(lines).not.toMatch(/Ava|Smith|Jones/);
  });

  it('reports nothing for a school day', async () => {
    const s = await run('test/fixtures/mis/sims/session-attendance.xml');
    expect(s.calendarProblems).toEqual({ count: 0, first: [] });
    expect(s.registerClosures).toEqual([]);
  });
});

describe('whole-school closures in the register the calendar does not list', () => {
  it('are reported by day, session and code with how many stored marks say so; a closure on a closed day agrees', async () => {
    const s = await run('test/fixtures/mis/sims/session-attendance-snow-day.xml');
    // A snow day (Y4) on a term-time Tuesday, and a planned closure (#) one morning: the calendar
    // has both open. The unknown pupil's Y4 is rejected and not counted; '#' on the INSET day and
    // Y4 in the Christmas holiday agree with the calendar.
    expect(s.registerClosures).toEqual([
      { date: '2025-01-14', session: 'AM', code: 'Y4', marks: 3 },
      { date: '2025-01-14', session: 'PM', code: 'Y4', marks: 3 },
      { date: '2025-01-15', session: 'AM', code: '#', marks: 1 },
    ]);
    expect(s.calendarProblems).toEqual({ count: 0, first: [] });
    expect(s.rejectedRows).toBe(1);

    const lines = formatSummary('alpha', s).join('\n');
    expect(lines).toContain(
      'whole-school closures in the register on days the calendar has the school open: 3 (the trigger rules already treat them as closed; add them to calendar.closures)',
    );
    expect(lines).toContain('    2025-01-14 AM: Y4 (whole site unexpectedly closed) on 3 marks');
    expect(lines).toContain('    2025-01-15 AM: # (planned whole-school closure) on 1 mark');

    const facts = await dataPageFacts(db, 'alpha');
    expect(facts.imports[0]!.register_closures).toEqual(s.registerClosures);
  });
});
