import type { Db } from './db.ts';

/**
 * What the data manager's page reads about a school: its last imports (with how many marks fell on
 * days the calendar says are closed, and the first 20 of them), sync cursors, outbox counts and
 * latest records, and how many fob payloads were rejected.
 */
export async function dataPageFacts(db: Db, schoolId: string) {
  const imports = await db.query<Record<string, unknown>>(
    `SELECT id, source, unit, status, finished_at, pupils_inserted, pupils_updated, marks_inserted, marks_updated,
            marks_unchanged, jsonb_array_length(rejected) AS rejected, calendar_problem_count AS calendar_problems,
            jsonb_path_query_array(calendar_problems, '$[0 to 19]') AS calendar_problems_first, error
     FROM imports WHERE school_id = $1 ORDER BY id DESC LIMIT 20`,
    [schoolId],
  );
  const cursors = await db.query<Record<string, unknown>>(
    'SELECT source, cursor, updated_at FROM sync_cursors WHERE school_id = $1',
    [schoolId],
  );
  const outbox = await db.query<{ status: string; n: string }>(
    'SELECT status, count(*)::text AS n FROM outbox WHERE school_id = $1 GROUP BY status',
    [schoolId],
  );
  const records = await db.query<Record<string, unknown>>(
    `SELECT id, kind, title, status, last_error, created_at FROM outbox WHERE school_id = $1
     ORDER BY id DESC LIMIT 20`,
    [schoolId],
  );
  const rejectedFob = await db.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM rejected_events WHERE school_id = $1',
    [schoolId],
  );
  return {
    imports: imports.rows,
    cursors: cursors.rows,
    outboxCounts: Object.fromEntries(outbox.rows.map((r) => [r.status, Number(r.n)])),
    records: records.rows,
    rejectedFobEvents: Number(rejectedFob.rows[0]?.n ?? 0),
  };
}

/** One outbox record as the data page shows it (with its body), or undefined. */
export async function outboxRecordShown(db: Db, id: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await db.query<Record<string, unknown>>(
    'SELECT id, school_id, kind, title, body, status, sink, idempotency_key, last_error, remote_id, created_at FROM outbox WHERE id = $1',
    [id],
  );
  return rows[0];
}
