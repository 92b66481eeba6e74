import type { Queryable } from './db.ts';

/**
 * SQL for the attendance import. Each import unit loads its rows into temporary staging tables
 * (dropped at commit) and is then applied with set-based upserts, all in the caller's transaction.
 */
export async function createStaging(tx: Queryable): Promise<void> {
  await tx.exec(`
    CREATE TEMP TABLE IF NOT EXISTS stage_marks (
      line INTEGER NOT NULL, record INTEGER, pupil_mis_id TEXT NOT NULL, date DATE NOT NULL, session TEXT NOT NULL,
      code TEXT NOT NULL, category TEXT NOT NULL, local_code TEXT, minutes_late INTEGER
    ) ON COMMIT DROP;
    CREATE TEMP TABLE IF NOT EXISTS stage_pupils (line INTEGER NOT NULL, mis_id TEXT NOT NULL, data JSONB NOT NULL) ON COMMIT DROP;
  `);
}

/** Staged marks, column by column (one array per column: far fewer objects than one per row). */
export class MarkColumns {
  line: number[] = [];
  record: (number | null)[] = [];
  pupilMisId: string[] = [];
  date: string[] = [];
  session: string[] = [];
  code: string[] = [];
  category: string[] = [];
  localCode: (string | null)[] = [];
  minutesLate: (number | null)[] = [];

  get length(): number {
    return this.line.length;
  }
}

export async function stageMarks(tx: Queryable, c: MarkColumns): Promise<void> {
  if (c.length === 0) return;
  await tx.query(
    `INSERT INTO stage_marks (line, record, pupil_mis_id, date, session, code, category, local_code, minutes_late)
     SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::date[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[])`,
    [c.line, c.record, c.pupilMisId, c.date, c.session, c.code, c.category, c.localCode, c.minutesLate],
  );
}

export interface StagedPupil {
  line: number;
  misId: string;
  /** Columns of `pupils` (and `contacts`) as JSON. */
  data: Record<string, unknown>;
}

export async function stagePupils(tx: Queryable, rows: readonly StagedPupil[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO stage_pupils (line, mis_id, data) SELECT * FROM unnest($1::int[], $2::text[], $3::jsonb[])`,
    [rows.map((r) => r.line), rows.map((r) => r.misId), rows.map((r) => JSON.stringify(r.data))],
  );
}

/** CTF carries only UPNs: point staged rows at the school's pupil with that UPN, where one exists. */
export async function matchStagedByUpn(tx: Queryable, schoolId: string): Promise<void> {
  await tx.query(
    `UPDATE stage_pupils s SET mis_id = p.mis_id FROM pupils p WHERE p.school_id = $1 AND p.upn = s.mis_id`,
    [schoolId],
  );
  await tx.query(
    `UPDATE stage_marks s SET pupil_mis_id = p.mis_id FROM pupils p WHERE p.school_id = $1 AND p.upn = s.pupil_mis_id`,
    [schoolId],
  );
}

/** Same pupil, date and session given different marks in one unit: [lineA, lineB, key]. */
export async function conflictingMarks(tx: Queryable, limit = 5) {
  const { rows } = await tx.query<{ pupil_mis_id: string; date: string; session: string; lines: number[] }>(
    `SELECT pupil_mis_id, to_char(date, 'YYYY-MM-DD') AS date, session, array_agg(line ORDER BY line) AS lines
     FROM stage_marks GROUP BY pupil_mis_id, date, session
     HAVING count(DISTINCT (code, local_code, minutes_late)) > 1
     ORDER BY min(line) LIMIT $1`,
    [limit],
  );
  return rows;
}

export interface UpsertCounts {
  inserted: number;
  updated: number;
}

export async function upsertPupils(tx: Queryable, schoolId: string): Promise<UpsertCounts> {
  const { rows } = await tx.query<{ inserted: boolean }>(
    `WITH latest AS (
       SELECT DISTINCT ON (mis_id) mis_id, data FROM stage_pupils ORDER BY mis_id, line DESC
     )
     INSERT INTO pupils (school_id, mis_id, upn, forename, surname, preferred_name, dob, year_group, address, flags, updated_at)
     SELECT $1, mis_id, data->>'upn', data->>'forename', data->>'surname', data->>'preferredName',
            (data->>'dob')::date, data->>'yearGroup', data->'address', COALESCE(data->'flags', '{}'::jsonb), now()
     FROM latest
     ON CONFLICT (school_id, mis_id) DO UPDATE SET
       upn = EXCLUDED.upn, forename = EXCLUDED.forename, surname = EXCLUDED.surname,
       preferred_name = EXCLUDED.preferred_name, dob = EXCLUDED.dob, year_group = EXCLUDED.year_group,
       address = EXCLUDED.address, flags = pupils.flags || EXCLUDED.flags, updated_at = now()
     WHERE (pupils.upn, pupils.forename, pupils.surname, pupils.preferred_name, pupils.dob, pupils.year_group, pupils.address)
           IS DISTINCT FROM (EXCLUDED.upn, EXCLUDED.forename, EXCLUDED.surname, EXCLUDED.preferred_name, EXCLUDED.dob,
                             EXCLUDED.year_group, EXCLUDED.address)
        OR NOT (pupils.flags @> EXCLUDED.flags)
     RETURNING (xmax = 0) AS inserted`,
    [schoolId],
  );
  // Contacts: replaced for pupils whose record carried a contacts list.
  const latest = `SELECT DISTINCT ON (mis_id) mis_id, data FROM stage_pupils WHERE data ? 'contacts' ORDER BY mis_id, line DESC`;
  await tx.query(
    `DELETE FROM pupil_contacts c USING (${latest}) w WHERE c.school_id = $1 AND c.pupil_mis_id = w.mis_id`,
    [schoolId],
  );
  await tx.query(
    `INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, email, address,
                                 parental_responsibility)
     SELECT $1, w.mis_id, (c->>'priority')::int, c->>'name', c->>'relationship', c->>'phone', c->>'email', c->'address',
            (c->>'parentalResponsibility')::boolean
     FROM (${latest}) w, jsonb_array_elements(w.data->'contacts') AS c`,
    [schoolId],
  );
  const inserted = rows.filter((r) => r.inserted).length;
  return { inserted, updated: rows.length - inserted };
}

/**
 * Marks pupils off-roll: `left_on` is set (an earlier leaving date is kept); the pupil, their marks
 * and history stay — retention hides and later erases leavers on the school's schedule. Returns how
 * many pupils were newly marked; ids the school does not have are returned as unknown.
 */
export async function markLeavers(
  tx: Queryable,
  schoolId: string,
  leavers: readonly { misId: string; leftOn: string }[],
): Promise<{ marked: number; unknown: string[] }> {
  if (leavers.length === 0) return { marked: 0, unknown: [] };
  const { rows } = await tx.query<{ mis_id: string; marked: boolean }>(
    `WITH l AS (SELECT DISTINCT ON (mis_id) mis_id, left_on FROM unnest($2::text[], $3::date[]) AS u(mis_id, left_on)
                ORDER BY mis_id, left_on),
          up AS (UPDATE pupils p SET left_on = l.left_on, updated_at = now() FROM l
                 WHERE p.school_id = $1 AND p.mis_id = l.mis_id AND (p.left_on IS NULL OR p.left_on > l.left_on)
                 RETURNING p.mis_id)
     SELECT l.mis_id, EXISTS (SELECT 1 FROM up WHERE up.mis_id = l.mis_id) AS marked
     FROM l WHERE NOT EXISTS (SELECT 1 FROM pupils p WHERE p.school_id = $1 AND p.mis_id = l.mis_id)
        OR EXISTS (SELECT 1 FROM up WHERE up.mis_id = l.mis_id)`,
    [schoolId, leavers.map((l) => l.misId), leavers.map((l) => l.leftOn)],
  );
  return {
    marked: rows.filter((r) => r.marked).length,
    unknown: rows.filter((r) => !r.marked).map((r) => r.mis_id),
  };
}

/** Removes staged marks whose pupil the school does not have; returns them for the summary. */
export async function takeUnknownPupilMarks(tx: Queryable, schoolId: string) {
  const { rows } = await tx.query<{ line: number; record: number | null; pupil_mis_id: string }>(
    `DELETE FROM stage_marks s WHERE NOT EXISTS (
       SELECT 1 FROM pupils p WHERE p.school_id = $1 AND p.mis_id = s.pupil_mis_id)
     RETURNING line, record, pupil_mis_id`,
    [schoolId],
  );
  return rows.sort((a, b) => a.line - b.line);
}

/** Writes one audit entry per mark whose code changes (a correction), before the upsert. */
export async function auditCorrections(tx: Queryable, schoolId: string, actor: string, importId: string) {
  const { rowCount } = await tx.query(
    `INSERT INTO audit_log (actor, action, school_id, entity_type, entity_id, before, after)
     SELECT DISTINCT ON (s.pupil_mis_id, s.date, s.session)
            $2, 'attendance.mark.corrected', $1, 'attendance_mark',
            s.pupil_mis_id || '/' || to_char(s.date, 'YYYY-MM-DD') || '/' || s.session,
            jsonb_build_object('code', m.code, 'localCode', m.local_code, 'importId', m.import_id),
            jsonb_build_object('code', s.code, 'localCode', s.local_code, 'importId', $3::bigint)
     FROM stage_marks s
     JOIN attendance_marks m ON m.school_id = $1 AND m.pupil_mis_id = s.pupil_mis_id AND m.date = s.date AND m.session = s.session
     WHERE (m.code, m.local_code) IS DISTINCT FROM (s.code, s.local_code)
     ORDER BY s.pupil_mis_id, s.date, s.session, s.line DESC`,
    [schoolId, actor, importId],
  );
  return rowCount;
}

/**
 * Upserts the staged marks. Fast path: the staged keys are unique, so one INSERT … ON CONFLICT
 * does it (counts come back aggregated, not row by row). When a key repeats, PostgreSQL refuses
 * that statement (a row cannot be affected twice); it is rolled back to a savepoint and the caller
 * learns the unit has duplicates (`null`), checks them, and retries with `dedupe`.
 */
export async function upsertMarks(tx: Queryable, schoolId: string, importId: string, dedupe = false) {
  const source = dedupe
    ? `SELECT DISTINCT ON (pupil_mis_id, date, session) pupil_mis_id, date, session, code, category, local_code, minutes_late
       FROM stage_marks ORDER BY pupil_mis_id, date, session, line DESC`
    : 'SELECT pupil_mis_id, date, session, code, category, local_code, minutes_late FROM stage_marks';
  await tx.query('SAVEPOINT upsert_marks');
  try {
    const { rows } = await tx.query<{
      inserted: number;
      updated: number;
      staged: number;
      changed: string[] | null;
    }>(
      `WITH up AS (
         INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, local_code, minutes_late, import_id)
         SELECT $1, s.*, $2::bigint FROM (${source}) s
         ON CONFLICT (school_id, pupil_mis_id, date, session) DO UPDATE SET
           code = EXCLUDED.code, category = EXCLUDED.category, local_code = EXCLUDED.local_code,
           minutes_late = EXCLUDED.minutes_late, import_id = EXCLUDED.import_id, updated_at = now()
         WHERE (attendance_marks.code, attendance_marks.local_code, attendance_marks.minutes_late)
               IS DISTINCT FROM (EXCLUDED.code, EXCLUDED.local_code, EXCLUDED.minutes_late)
         RETURNING pupil_mis_id, (xmax = 0) AS inserted
       )
       SELECT count(*) FILTER (WHERE inserted)::int AS inserted,
              count(*) FILTER (WHERE NOT inserted)::int AS updated,
              (SELECT count(*)::int FROM (${source}) k) AS staged,
              array_agg(DISTINCT pupil_mis_id ORDER BY pupil_mis_id) AS changed
       FROM up`,
      [schoolId, importId],
    );
    await tx.query('RELEASE SAVEPOINT upsert_marks');
    const r = rows[0]!;
    return {
      inserted: r.inserted,
      updated: r.updated,
      unchanged: r.staged - r.inserted - r.updated,
      changedPupils: r.changed ?? [],
    };
  } catch (err) {
    await tx.query('ROLLBACK TO SAVEPOINT upsert_marks');
    // 21000 cardinality_violation: "ON CONFLICT DO UPDATE command cannot affect row a second time"
    if (!dedupe && (err as { code?: string }).code === '21000') return null;
    throw err;
  }
}

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
  status: 'applied' | 'refused' | 'dry-run',
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
    calendarProblems: { count: number; first: unknown[] };
    changedPupils: string[];
  },
) {
  await tx.query(
    `UPDATE imports SET finished_at = now(), pupils_inserted = $2, pupils_updated = $3, marks_inserted = $4,
       marks_updated = $5, marks_unchanged = $6, rejected = $7, changed_pupils = $8,
       calendar_problem_count = $9, calendar_problems = $10 WHERE id = $1`,
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
    ],
  );
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

export async function markEvaluationEnqueued(db: Queryable, importId: string) {
  await db.query('UPDATE imports SET evaluation_enqueued_at = now() WHERE id = $1', [importId]);
}

export async function changedPupilsOf(db: Queryable, importId: string): Promise<string[]> {
  const { rows } = await db.query<{ changed_pupils: string[] }>(
    'SELECT changed_pupils FROM imports WHERE id = $1',
    [importId],
  );
  return rows[0]?.changed_pupils ?? [];
}
