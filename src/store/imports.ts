import type { Queryable } from './db.ts';

/** The import records: each unit's row, its sync cursor, and its hand-over to trigger evaluation. */

export async function getCursor(db: Queryable, schoolId: string, source: string): Promise<string | null> {
  const { rows } = await db.query<{ cursor: string }>(
    'SELECT cursor FROM sync_cursors WHERE school_id = $1 AND source = $2',
    [schoolId, source],
  );
  return rows[0]?.cursor ?? null;
}

export async function setCursor(
  tx: Queryable,
  schoolId: string,
  source: string,
  cursor: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO sync_cursors (school_id, source, cursor) VALUES ($1, $2, $3)
     ON CONFLICT (school_id, source) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()`,
    [schoolId, source, cursor],
  );
}

export interface ImportRow {
  schoolId: string;
  source: string;
  unit: string;
  sha256: string | null;
  startedAt: Date;
}

export async function insertImport(
  tx: Queryable,
  row: ImportRow,
  status: 'applied' | 'refused' | 'dry-run' | 'already-imported',
  error?: string,
) {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO imports (school_id, source, unit, sha256, status, started_at, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [row.schoolId, row.source, row.unit, row.sha256, status, row.startedAt, error ?? null],
  );
  return String(rows[0]!.id);
}

export async function finishImport(
  tx: Queryable,
  id: string,
  r: {
    pupilsInserted: number;
    pupilsUpdated: number;
    marksInserted: number;
    marksUpdated: number;
    marksUnchanged: number;
    rejected: unknown[];
    rejectedByCause: unknown[];
    calendarProblems: { count: number; first: unknown[] };
    registerClosures: { count: number; first: unknown[] };
    changedPupils: string[];
  },
) {
  await tx.query(
    `UPDATE imports SET finished_at = now(), pupils_inserted = $2, pupils_updated = $3, marks_inserted = $4,
       marks_updated = $5, marks_unchanged = $6, rejected = $7, changed_pupils = $8,
       calendar_problem_count = $9, calendar_problems = $10, rejected_causes = $11, register_closures = $12,
       register_closure_count = $13
     WHERE id = $1`,
    [
      id,
      r.pupilsInserted,
      r.pupilsUpdated,
      r.marksInserted,
      r.marksUpdated,
      r.marksUnchanged,
      JSON.stringify(r.rejected),
      JSON.stringify(r.changedPupils),
      r.calendarProblems.count,
      JSON.stringify(r.calendarProblems.first),
      JSON.stringify(r.rejectedByCause),
      JSON.stringify(r.registerClosures.first),
      r.registerClosures.count,
    ],
  );
}

/** The rejection causes whose rows a later import of the same file may take. */
export interface RepeatMayTake {
  /** Whatever the config: a mark for a pupil not imported then, say. */
  causes: readonly string[];
  /**
   * A cause of marks refused for their academic year (by how it starts), and the years the school
   * accepts now: its rows may be taken once one of the years it refused is accepted — not when the
   * accepted years' list merely reads otherwise (rolled on 1 September, reordered, a year added that
   * the file has no marks in). The years refused are the cause's `years`; a cause stored before those
   * were kept is judged by the years of its first dates (`first`, up to five).
   */
  refusedYears: { startsWith: string; accepted: readonly number[] };
}

/**
 * The latest applied import of the school that took a file with these bytes (its sha256), when it
 * left out none of the rows a later import could take (`retry`: a mark for a pupil not imported
 * then, or one the school's years did not accept then) — an import that did leave such rows is not
 * one the file needs no repeat of.
 */
export async function appliedImportOfFile(
  db: Queryable,
  schoolId: string,
  sha256: string,
  retry: RepeatMayTake,
): Promise<{ id: string; finishedAt: Date } | undefined> {
  const { rows } = await db.query<{ id: string; finished_at: Date }>(
    `SELECT id, finished_at FROM imports
      WHERE school_id = $1 AND sha256 = $2 AND status = 'applied'
        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(rejected_causes) c
                         WHERE c->>'cause' = ANY($3::text[])
                            OR (starts_with(c->>'cause', $4) AND EXISTS (
                                  SELECT 1 FROM jsonb_array_elements_text(CASE
                                      WHEN jsonb_typeof(c->'years') = 'array' THEN c->'years'
                                      WHEN jsonb_typeof(c->'first') = 'array' THEN c->'first'
                                      ELSE '[]'::jsonb END) y
                                   WHERE CASE
                                      WHEN y ~ '^[0-9]{4}$' THEN y::int
                                      WHEN y ~ '^[0-9]{4}-[0-9]{2}-' THEN substr(y, 1, 4)::int
                                        - CASE WHEN substr(y, 6, 2)::int < 9 THEN 1 ELSE 0 END
                                      END = ANY($5::int[]))))
      ORDER BY id DESC LIMIT 1`,
    [schoolId, sha256, retry.causes, retry.refusedYears.startsWith, [...retry.refusedYears.accepted]],
  );
  const row = rows[0];
  return row ? { id: String(row.id), finishedAt: new Date(row.finished_at) } : undefined;
}

/** Applied imports whose changed pupils have not yet been handed to trigger evaluation. */
export async function importsAwaitingEvaluation(db: Queryable, schoolId: string) {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM imports WHERE school_id = $1 AND status = 'applied' AND evaluation_enqueued_at IS NULL
       AND jsonb_array_length(changed_pupils) > 0 ORDER BY id`,
    [schoolId],
  );
  return rows.map((r) => String(r.id));
}

/** The import was handed to trigger evaluation: none of its chunks is evaluated yet (unless it was before). */
export async function markEvaluationEnqueued(db: Queryable, importId: string) {
  await db.query(
    `UPDATE imports SET evaluation_enqueued_at = now(), evaluated_chunks = COALESCE(evaluated_chunks, '[]'::jsonb)
      WHERE id = $1`,
    [importId],
  );
}

/**
 * One evaluation chunk of the import (its `chunk`-th slice of changed pupils, 0 first) was evaluated —
 * also after the import's evaluation was given up (a job still running then that finishes counts).
 * An import handed over with no chunks kept (NULL: before they were kept, taken as evaluated) stays so;
 * one not marked handed over yet (its job ran before the mark) starts its list.
 */
export async function markChunkEvaluated(db: Queryable, importId: string, chunk: number) {
  await db.query(
    `UPDATE imports SET evaluated_chunks = COALESCE(evaluated_chunks, '[]'::jsonb) || to_jsonb($2::int)
      WHERE id = $1 AND NOT COALESCE(evaluated_chunks, '[]'::jsonb) @> to_jsonb($2::int)
        AND (evaluated_chunks IS NOT NULL OR evaluation_enqueued_at IS NULL)`,
    [importId, chunk],
  );
}

/** Handed over with chunks (of `chunkSize` changed pupils' places) not yet evaluated. */
const NOT_EVALUATED = `school_id = $1 AND status = 'applied' AND evaluated_chunks IS NOT NULL
        AND evaluation_enqueued_at IS NOT NULL
        AND jsonb_array_length(evaluated_chunks) < ceil(jsonb_array_length(changed_pupils)::numeric / $2)`;

function chunksLeft(r: { id: string; changed: number; evaluated: number[] }, chunkSize: number) {
  const done = new Set(r.evaluated);
  const all = Array.from({ length: Math.ceil(r.changed / chunkSize) }, (_, n) => n);
  return { importId: String(r.id), chunks: all.filter((n) => !done.has(n)) };
}

/** An import handed to trigger evaluation with chunks not evaluated, not given up. */
export interface EvaluationNotDone {
  importId: string;
  chunks: number[];
  /** When its give-up window started (`markEvaluationHandedAgain`): null while no sync handed it over again. */
  retriedFrom: Date | null;
}

/**
 * Applied imports handed to trigger evaluation with chunks (of `chunkSize` changed pupils) not yet
 * evaluated, those chunks, and when their give-up window started: their jobs may be waiting or
 * running still — or have used all their tries (the database away for minutes), or been lost with
 * Redis, and nothing else runs them again. Not those given up (`giveUpEvaluation`).
 */
export async function evaluationsNotDone(
  db: Queryable,
  schoolId: string,
  chunkSize: number,
): Promise<EvaluationNotDone[]> {
  const { rows } = await db.query<{
    id: string;
    changed: number;
    evaluated: number[];
    evaluation_retried_from: Date | null;
  }>(
    `SELECT id, jsonb_array_length(changed_pupils) AS changed, evaluated_chunks AS evaluated,
            evaluation_retried_from FROM imports
      WHERE ${NOT_EVALUATED} AND evaluation_given_up_at IS NULL
      ORDER BY id`,
    [schoolId, chunkSize],
  );
  return rows.map((r) => ({
    ...chunksLeft(r, chunkSize),
    retriedFrom: r.evaluation_retried_from ? new Date(r.evaluation_retried_from) : null,
  }));
}

/**
 * A sync handed the import's evaluation over again (`at`): its give-up window starts at the first
 * time this happens, and is not moved by later ones — unless `restart`: a job of it was lost (Redis
 * flushed, or back without its data), so the tries it had in the window went with it, and the window
 * starts again now.
 */
export async function markEvaluationHandedAgain(
  db: Queryable,
  importId: string,
  at: Date,
  options: { restart?: boolean } = {},
) {
  await db.query(
    options.restart
      ? 'UPDATE imports SET evaluation_retried_from = $2 WHERE id = $1'
      : 'UPDATE imports SET evaluation_retried_from = COALESCE(evaluation_retried_from, $2) WHERE id = $1',
    [importId, at],
  );
}

/**
 * Gives up (at `at`) the import's evaluation when its chunks are still not evaluated though its
 * window started (a sync first handed it over again) at or before `startedBy` — checked here: one
 * whose window a sync moved since the caller looked is kept — and returns those chunks: no
 * sync hands it over again and its pupils are left to the nightly all-pupil run. Returned once
 * (undefined after): the import keeps the time it was given up, and the chunks evaluated so far (one
 * finishing later still counts).
 */
export async function giveUpEvaluation(
  db: Queryable,
  schoolId: string,
  importId: string,
  chunkSize: number,
  startedBy: Date,
  at: Date,
): Promise<number[] | undefined> {
  const { rows } = await db.query<{ id: string; changed: number; evaluated: number[] }>(
    `UPDATE imports SET evaluation_given_up_at = $5
      WHERE ${NOT_EVALUATED} AND id = $3 AND evaluation_given_up_at IS NULL AND evaluation_retried_from <= $4
      RETURNING id, jsonb_array_length(changed_pupils) AS changed, evaluated_chunks AS evaluated`,
    [schoolId, chunkSize, importId, startedBy, at],
  );
  const row = rows[0];
  return row ? chunksLeft(row, chunkSize).chunks : undefined;
}

/** An import whose trigger evaluation was given up with chunks not evaluated, for the data page. */
export interface EvaluationGivenUp {
  importId: string;
  unit: string;
  givenUpAt: Date;
}

/**
 * The school's imports whose trigger evaluation was given up at or after `since` and still has chunks
 * (of `chunkSize` changed pupils) not evaluated, newest first.
 */
export async function evaluationsGivenUp(
  db: Queryable,
  schoolId: string,
  chunkSize: number,
  since: Date,
): Promise<EvaluationGivenUp[]> {
  const { rows } = await db.query<{ id: string; unit: string; evaluation_given_up_at: Date }>(
    `SELECT id, unit, evaluation_given_up_at FROM imports
      WHERE ${NOT_EVALUATED} AND evaluation_given_up_at >= $3
      ORDER BY evaluation_given_up_at DESC, id DESC`,
    [schoolId, chunkSize, since],
  );
  return rows.map((r) => ({
    importId: String(r.id),
    unit: r.unit,
    givenUpAt: new Date(r.evaluation_given_up_at),
  }));
}

/**
 * The pupils whose marks the import changed. An erased pupil's place in the list is kept, empty
 * (null): an evaluation chunk is a slice of the places, so a chunk handed over before an erasure and
 * again after it covers the same pupils. Empty places are left out here.
 */
export async function changedPupilsOf(db: Queryable, importId: string): Promise<string[]> {
  const { rows } = await db.query<{ changed_pupils: (string | null)[] }>(
    'SELECT changed_pupils FROM imports WHERE id = $1',
    [importId],
  );
  return (rows[0]?.changed_pupils ?? []).filter((id): id is string => typeof id === 'string');
}

/** How many places the import's changed-pupil list has (an erased pupil's included), and how many pupils it names. */
export async function changedPupilsCount(
  db: Queryable,
  importId: string,
): Promise<{ places: number; pupils: number }> {
  const { rows } = await db.query<{ places: number; pupils: number }>(
    `SELECT jsonb_array_length(changed_pupils) AS places,
            (SELECT count(*)::int FROM jsonb_array_elements(changed_pupils) e WHERE jsonb_typeof(e) = 'string') AS pupils
       FROM imports WHERE id = $1`,
    [importId],
  );
  return { places: rows[0]?.places ?? 0, pupils: rows[0]?.pupils ?? 0 };
}

/**
 * The pupils of one evaluation chunk of the import: its `chunk`-th slice (0 first) of `chunkSize`
 * places of the changed-pupil list, in order, erased pupils' empty places left out. A chunk always
 * means the same places, so an erasure between two hand-overs of it never moves a pupil into another.
 */
export async function changedPupilsOfChunk(
  db: Queryable,
  importId: string,
  chunk: number,
  chunkSize: number,
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT c.e #>> '{}' AS id
       FROM imports i, jsonb_array_elements(i.changed_pupils) WITH ORDINALITY AS c(e, n)
      WHERE i.id = $1 AND c.n > $2::bigint * $3 AND c.n <= ($2::bigint + 1) * $3 AND jsonb_typeof(c.e) = 'string'
      ORDER BY c.n`,
    [importId, chunk, chunkSize],
  );
  return rows.map((r) => r.id);
}
