import { describe, expect, it } from 'vitest';
import { syncSchool } from '../../src/import/sync-school.ts';
import { wondeStudent as stu, wondeSyncAnswers, wondeSyncSchool } from '../helpers/wonde-sync.ts';

/**
 * Found by review: one Wonde attendance row whose included code is null (`attendance_code:
 * {data: null}` or `null`) refused its whole page, and the cursor never moved past it: every later
 * sync stopped on the same page, and no mark of the school arrived again. Now that row alone is
 * rejected and reported (by cause, with its pupil), as an unknown pupil's row is; the page's other
 * marks apply and the cursor moves on.
 */
const { school, source, store } = wondeSyncSchool('wondenullcode');

const row = (student: string, session: string, code: unknown) => ({
  student,
  date: { date: '2025-01-13 00:00:00.000000' },
  session,
  attendance_code: code,
  updated_at: { date: '2025-01-13 16:00:00.000000', timezone_type: 3, timezone: 'UTC' },
});

describe('Wonde: an attendance row with no code', () => {
  it('is rejected alone and reported; the rest of the page applies and the cursor moves on', async () => {
    const now = new Date('2025-01-14T10:00:00Z');
    wondeSyncAnswers(
      [stu('S1', 1), stu('S2', 2)],
      [
        row('S1', 'AM', { data: { id: 'C-N', code: 'N' } }),
        row('S2', 'AM', { data: null }),
        row('S2', 'PM', null),
      ],
    );
    const report = await syncSchool(store.db, school, source(now), { now: () => now, actor: 'test' });
    expect(report.refused).toEqual([]);
    const page = report.applied.find((s) => s.unit === 'wonde attendance page 1')!;
    expect(page.rejectedByCause).toEqual([
      {
        cause: 'field attendance_code not a code (Wonde gave none) (the row not applied)',
        rows: 2,
        idKind: 'pupils',
        ids: 1,
        first: ['2'],
        firstAt: 'wonde attendance page 1, record 2',
      },
    ]);
    expect(page.rejected).toEqual([
      {
        where: 'wonde attendance page 1, record 2',
        pupil: '2',
        reason:
          'field attendance_code: expected a code (Wonde gave none); the row is not applied (the rest are)',
      },
      {
        where: 'wonde attendance page 1, record 3',
        pupil: '2',
        reason:
          'field attendance_code: expected a code (Wonde gave none); the row is not applied (the rest are)',
      },
    ]);
    const { rows } = await store.db.query<{ k: string }>(
      `SELECT pupil_mis_id || ' ' || session || ' ' || code AS k FROM attendance_marks ORDER BY 1`,
    );
    expect(rows.map((r) => r.k)).toEqual(['1 AM N']);
    // Nothing held for it (there is no mark to apply later): Wonde's correction comes as a changed row.
    const held = await store.db.query<{ n: number }>('SELECT count(*)::int AS n FROM held_marks');
    expect(held.rows[0]!.n).toBe(0);
    const cursor = await store.db.query<{ v: string | null }>('SELECT cursor AS v FROM sync_cursors');
    expect(cursor.rows.map((r) => r.v)).toEqual(['2025-01-13 15:55:00']);
  });
});
