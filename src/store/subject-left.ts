import { ATTENDED_CATEGORIES } from '../domain/attendance/codes.ts';
import type { Queryable } from './db.ts';

/**
 * The last day a pupil attended (a present or approved-activity mark; YYYY-MM-DD), or null with none:
 * a leaving date is checked against it (`leavingDateDoubts`).
 */
export async function latestMarkOf(db: Queryable, schoolId: string, misId: string): Promise<string | null> {
  const { rows } = await db.query<{ latest: string | null }>(
    `SELECT to_char(max(date), 'YYYY-MM-DD') AS latest FROM attendance_marks
     WHERE school_id = $1 AND pupil_mis_id = $2 AND category = ANY($3::text[])`,
    [schoolId, misId, [...ATTENDED_CATEGORIES]],
  );
  return rows[0]?.latest ?? null;
}
