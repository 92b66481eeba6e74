import { describe, expect, it } from 'vitest';
import { syncSchool } from '../../src/import/sync-school.ts';
import { wondeStudent as stu, wondeSyncAnswers, wondeSyncSchool } from '../helpers/wonde-sync.ts';

/**
 * Found by review: a first Wonde sync gives every mark the MIS holds, a school's years before the
 * 2024 code set among them — H, J and Y were legal until 2024-08-19. Such a mark refused its whole
 * page (before even its date was looked at), and the cursor never moved past it: the school never
 * got a mark. Now its row alone is rejected — for its date when its year is not accepted, else as a
 * code from before the 2024 code set — and the rest of the page applies.
 */
const row = (student: string, date: string, session: string, code: string) => ({
  student,
  date: { date: `${date} 00:00:00.000000` },
  session,
  attendance_code: { data: { id: `C-${code}`, code } },
  updated_at: { date: '2025-01-13 16:00:00.000000', timezone_type: 3, timezone: 'UTC' },
});

async function marks(db: { query: <T>(sql: string) => Promise<{ rows: T[] }> }): Promise<string[]> {
  const { rows } = await db.query<{ k: string }>(
    `SELECT pupil_mis_id || ' ' || to_char(date, 'YYYY-MM-DD') || ' ' || session || ' ' || code AS k FROM attendance_marks ORDER BY 1`,
  );
  return rows.map((r) => r.k);
}

describe('Wonde first sync: a 2023/24 H, J or Y in a year the school accepts', () => {
  const { school, source, store } = wondeSyncSchool('wondeoldcodes');

  it('rejects those rows as from before the 2024 code set; the rest applies and the cursor moves on', async () => {
    // In 2024/25 the school's years are 2024/25 and 2023/24 (the default): July 2024 is taken.
    const now = new Date('2025-01-14T10:00:00Z');
    wondeSyncAnswers(
      [stu('S1', 1)],
      [
        row('S1', '2024-07-15', 'AM', 'N'),
        row('S1', '2024-07-15', 'PM', 'H'),
        row('S1', '2024-07-16', 'AM', 'J'),
        row('S1', '2024-07-16', 'PM', 'Y'),
        row('S1', '2025-01-13', 'AM', 'N'),
      ],
    );
    const report = await syncSchool(store.db, school, source(now), { now: () => now, actor: 'test' });
    expect(report.refused).toEqual([]);
    const page = report.applied.find((s) => s.unit === 'wonde attendance page 1')!;
    expect(page.rejectedByCause).toEqual([
      {
        cause:
          'a code from before the 2024 code set (H, J or Y before 2024-08-19): no 2024 code means the same (the row not applied)',
        rows: 3,
        idKind: 'marks',
        ids: 3,
        first: ['H', 'J', 'Y'],
        firstAt: 'wonde attendance page 1, record 2',
      },
    ]);
    expect(page.rejected[0]).toEqual({
      where: 'wonde attendance page 1, record 2',
      pupil: '1',
      reason:
        'code "H" on 2024-07-15 PM is from before the 2024 code set (legal then, withdrawn on 2024-08-19); no code of the 2024 table means the same with certainty, so it is not taken (the rest are applied)',
    });
    expect(await marks(store.db)).toEqual(['1 2024-07-15 AM N', '1 2025-01-13 AM N']);
    const cursor = await store.db.query<{ v: string | null }>('SELECT cursor AS v FROM sync_cursors');
    expect(cursor.rows.map((r) => r.v)).toEqual(['2025-01-13 15:55:00']);
  });
});

describe('Wonde first sync in 2025/26: a 2023/24 H (a year the school no longer takes)', () => {
  const { school, source, store } = wondeSyncSchool('wondeoldh');

  it('is rejected for its date, as an old N is; this year applies', async () => {
    const now = new Date('2025-10-02T10:00:00Z');
    wondeSyncAnswers(
      [stu('S1', 1)],
      [
        row('S1', '2024-07-15', 'AM', 'N'),
        row('S1', '2024-07-15', 'PM', 'H'),
        row('S1', '2025-10-01', 'AM', 'N'),
      ],
    );
    const report = await syncSchool(store.db, school, source(now), { now: () => now, actor: 'test' });
    expect(report.refused).toEqual([]);
    const page = report.applied.find((s) => s.unit === 'wonde attendance page 1')!;
    expect(page.rejectedByCause).toMatchObject([
      { cause: 'date outside the accepted academic years (2025/26, 2024/25)', rows: 2, years: [2023] },
    ]);
    expect(await marks(store.db)).toEqual(['1 2025-10-01 AM N']);
  });
});
