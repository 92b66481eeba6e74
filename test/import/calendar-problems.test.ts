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
    expect(s.registerClosures).toEqual({ count: 0, first: [] });
  });
});

describe('days the register has closed all day that the calendar has as school days', () => {
  it('are reported by day with their codes and how many stored marks and pupils say so; part of a day, or a day the calendar has closed or cannot vouch for, is not', async () => {
    const s = await run('test/fixtures/mis/sims/session-attendance-snow-day.xml');
    // A snow day (Y4, both sessions) on a term-time Tuesday: reported. The unknown pupil's Y4 is
    // rejected and not counted. Not reported: '#' one morning only (the day counts by the afternoon;
    // the calendar has no half days), '#' on the INSET day and Y4 in the Christmas holiday (they
    // agree with the calendar), and '#' all day in March 2024 (no term of 2023/24 is configured:
    // the calendar cannot say the school met).
    expect(s.registerClosures).toEqual({
      count: 1,
      first: [{ date: '2025-01-14', codes: ['Y4'], marks: 6, pupils: 3 }],
    });
    expect(s.calendarProblems).toEqual({ count: 0, first: [] });
    expect(s.rejectedRows).toBe(1);

    const lines = formatSummary('alpha', s).join('\n');
    expect(lines).toContain(
      "days the register has closed all day that the calendar has as school days: 1 (the trigger rules already count them as closed; if the school was closed, add them to calendar.closures; if only a few pupils' marks say so, correct those marks in the MIS)",
    );
    expect(lines).toContain('    2025-01-14: Y4 (whole site unexpectedly closed) on 6 marks of 3 pupils');

    const facts = await dataPageFacts(db, 'alpha');
    expect(facts.imports[0]).toMatchObject({
      register_closure_count: 1,
      register_closures: s.registerClosures.first,
    });
  });
});
