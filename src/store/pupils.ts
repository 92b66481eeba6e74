import type { Queryable } from './db.ts';

/** `%`, `_` and `\` matched as themselves in a LIKE/ILIKE pattern (PostgreSQL's default escape is `\`). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface PupilMatch {
  mis_id: string;
  forename: string | null;
  surname: string | null;
  year_group: string | null;
  address: unknown;
}

/**
 * The pupil picker's search within one school: an exact MIS id or UPN, or `q` anywhere in
 * "forename surname" (case-insensitive, `q` taken literally: its wildcards are escaped). At most
 * `limit` pupils, by surname.
 */
export async function searchPupils(
  db: Queryable,
  schoolId: string,
  q: string,
  limit = 20,
): Promise<PupilMatch[]> {
  const { rows } = await db.query<PupilMatch>(
    `SELECT mis_id, forename, surname, year_group, address FROM pupils
     WHERE school_id = $1 AND hidden_at IS NULL -- a leaver past the school's shown period (retention)
       AND (mis_id = $2 OR upn = $2 OR (forename || ' ' || surname) ILIKE '%' || $3 || '%')
     ORDER BY surname, forename LIMIT $4`,
    [schoolId, q, escapeLike(q), limit],
  );
  return rows;
}

/** Whether the school has a pupil with this MIS id. */
export async function pupilExists(db: Queryable, schoolId: string, misId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM pupils WHERE school_id = $1 AND mis_id = $2', [
    schoolId,
    misId,
  ]);
  return (rowCount ?? 0) > 0;
}
