import type { Queryable } from './db.ts';

/** The latest date a pupil has a mark on (YYYY-MM-DD), or null with none: a leaving date is checked against it. */
export async function latestMarkOf(db: Queryable, schoolId: string, misId: string): Promise<string | null> {
  const { rows } = await db.query<{ latest: string | null }>(
    `SELECT to_char(max(date), 'YYYY-MM-DD') AS latest FROM attendance_marks
     WHERE school_id = $1 AND pupil_mis_id = $2`,
    [schoolId, misId],
  );
  return rows[0]?.latest ?? null;
}
