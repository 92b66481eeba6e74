import type { Queryable } from './db.ts';
import type { PurgeResult } from './retention.ts';

/** The record of each retention run: when it started, what it removed, per school. */

/** Records a run's start; `finishPurgeRun` fills in what it removed. */
export async function startPurgeRun(db: Queryable, schoolId: string, at: Date): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    'INSERT INTO purge_runs (school_id, started_at) VALUES ($1, $2) RETURNING id',
    [schoolId, at],
  );
  return String(rows[0]!.id);
}

export async function finishPurgeRun(
  db: Queryable,
  id: string,
  at: Date,
  result: Pick<PurgeResult, 'removed' | 'complete'> | { error: string; removed: Record<string, number> },
): Promise<void> {
  await db.query(
    'UPDATE purge_runs SET finished_at = $2, removed = $3, complete = $4, error = $5 WHERE id = $1',
    [
      id,
      at,
      JSON.stringify(result.removed),
      'complete' in result ? result.complete : false,
      'error' in result ? result.error : null,
    ],
  );
}

export interface PurgeRunRow {
  schoolId: string;
  startedAt: Date;
  finishedAt: Date | null;
  removed: Record<string, number>;
  complete: boolean;
  error: string | null;
}

/** The latest finished run per school (all schools when `schoolId` is absent). */
export async function lastPurgeRuns(db: Queryable, schoolId?: string): Promise<PurgeRunRow[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT DISTINCT ON (school_id) school_id, started_at, finished_at, removed, complete, error FROM purge_runs
     WHERE finished_at IS NOT NULL AND ($1::text IS NULL OR school_id = $1) ORDER BY school_id, id DESC`,
    [schoolId ?? null],
  );
  return rows.map((r) => ({
    schoolId: r.school_id as string,
    startedAt: new Date(r.started_at as string),
    finishedAt: r.finished_at ? new Date(r.finished_at as string) : null,
    removed: (r.removed ?? {}) as Record<string, number>,
    complete: Boolean(r.complete),
    error: (r.error as string | null) ?? null,
  }));
}
