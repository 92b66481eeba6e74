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
 * Marks pupils off-roll: `left_on` is set (an earlier leaving date is kept) with the destination when
 * the MIS gives one (a destination given later for the same leaving is added); the pupil, their marks
 * and history stay — retention hides and later erases leavers on the school's schedule. Returns the
 * pupils newly marked (or given a destination); ids the school does not have are returned as unknown.
 */
export async function markLeavers(
  tx: Queryable,
  schoolId: string,
  leavers: readonly { misId: string; leftOn: string; destination?: string | null }[],
): Promise<{ marked: string[]; unknown: string[] }> {
  if (leavers.length === 0) return { marked: [], unknown: [] };
  const { rows } = await tx.query<{ mis_id: string; marked: boolean }>(
    `WITH l AS (SELECT DISTINCT ON (mis_id) mis_id, left_on, left_to
                FROM unnest($2::text[], $3::date[], $4::text[]) AS u(mis_id, left_on, left_to)
                ORDER BY mis_id, left_on, left_to IS NULL),
          up AS (UPDATE pupils p SET left_on = l.left_on, left_to = COALESCE(l.left_to, CASE WHEN p.left_on = l.left_on THEN p.left_to END),
                                     updated_at = now() FROM l
                 WHERE p.school_id = $1 AND p.mis_id = l.mis_id
                   AND (p.left_on IS NULL OR p.left_on > l.left_on
                        OR (p.left_on = l.left_on AND l.left_to IS NOT NULL AND p.left_to IS DISTINCT FROM l.left_to))
                 RETURNING p.mis_id)
     SELECT l.mis_id, EXISTS (SELECT 1 FROM up WHERE up.mis_id = l.mis_id) AS marked
     FROM l WHERE NOT EXISTS (SELECT 1 FROM pupils p WHERE p.school_id = $1 AND p.mis_id = l.mis_id)
        OR EXISTS (SELECT 1 FROM up WHERE up.mis_id = l.mis_id)`,
    [
      schoolId,
      leavers.map((l) => l.misId),
      leavers.map((l) => l.leftOn),
      leavers.map((l) => l.destination ?? null),
    ],
  );
  return {
    marked: rows.filter((r) => r.marked).map((r) => r.mis_id),
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
 *
 * Paced (`pace.chunkMarks`): the same upsert in ranges of whole pupils of about that many marks,
 * `pace.between` awaited between them, all under one savepoint in the caller's transaction — the
 * unit is still applied whole or not at all. An import's write-ahead log then comes in short bursts:
 * a commit on the alarm path, which waits for the log to be flushed up to it, never finds more than
 * one chunk's log ahead of it.
 */
export async function upsertMarks(
  tx: Queryable,
  schoolId: string,
  importId: string,
  dedupe = false,
  pace: { chunkMarks?: number; between?: () => Promise<void> } = {},
) {
  const chunks = await pupilChunks(tx, pace.chunkMarks ?? Number.POSITIVE_INFINITY);
  const source = (where: string) =>
    dedupe
      ? `SELECT DISTINCT ON (pupil_mis_id, date, session) pupil_mis_id, date, session, code, category, local_code, minutes_late
         FROM stage_marks ${where} ORDER BY pupil_mis_id, date, session, line DESC`
      : `SELECT pupil_mis_id, date, session, code, category, local_code, minutes_late FROM stage_marks ${where}`;
  await tx.query('SAVEPOINT upsert_marks');
  try {
    let inserted = 0;
    let updated = 0;
    const changed: string[] = [];
    for (const [i, chunk] of chunks.entries()) {
      if (i > 0) await pace.between?.();
      const where = chunk ? 'WHERE pupil_mis_id >= $3 AND pupil_mis_id <= $4' : '';
      const { rows } = await tx.query<{ inserted: number; updated: number; changed: string[] | null }>(
        `WITH up AS (
           INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, local_code, minutes_late, import_id)
           SELECT $1, s.*, $2::bigint FROM (${source(where)}) s
           ON CONFLICT (school_id, pupil_mis_id, date, session) DO UPDATE SET
             code = EXCLUDED.code, category = EXCLUDED.category, local_code = EXCLUDED.local_code,
             minutes_late = EXCLUDED.minutes_late, import_id = EXCLUDED.import_id, updated_at = now()
           WHERE (attendance_marks.code, attendance_marks.local_code, attendance_marks.minutes_late)
                 IS DISTINCT FROM (EXCLUDED.code, EXCLUDED.local_code, EXCLUDED.minutes_late)
           RETURNING pupil_mis_id, (xmax = 0) AS inserted
         )
         SELECT count(*) FILTER (WHERE inserted)::int AS inserted,
                count(*) FILTER (WHERE NOT inserted)::int AS updated,
                array_agg(DISTINCT pupil_mis_id ORDER BY pupil_mis_id) AS changed
         FROM up`,
        chunk ? [schoolId, importId, chunk[0], chunk[1]] : [schoolId, importId],
      );
      const r = rows[0]!;
      inserted += r.inserted;
      updated += r.updated;
      if (r.changed) changed.push(...r.changed);
    }
    // Distinct keys: an identical repeat counts once, also when it changed nothing.
    const { rows: staged } = await tx.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM (SELECT DISTINCT pupil_mis_id, date, session FROM stage_marks) k',
    );
    await tx.query('RELEASE SAVEPOINT upsert_marks');
    return {
      inserted,
      updated,
      unchanged: staged[0]!.n - inserted - updated,
      changedPupils: changed,
    };
  } catch (err) {
    await tx.query('ROLLBACK TO SAVEPOINT upsert_marks');
    // 21000 cardinality_violation: "ON CONFLICT DO UPDATE command cannot affect row a second time"
    if (!dedupe && (err as { code?: string }).code === '21000') return null;
    throw err;
  }
}

/**
 * The staged marks cut into ranges of whole pupils of about `size` marks each (a pupil's repeats of
 * one session always fall in one range, so a range's upsert still finds them); [null] for one pass.
 */
async function pupilChunks(tx: Queryable, size: number): Promise<([string, string] | null)[]> {
  if (!Number.isFinite(size)) return [null];
  const { rows: total } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM stage_marks');
  if (total[0]!.n <= size) return [null];
  await tx.query('CREATE INDEX IF NOT EXISTS stage_marks_pupil ON stage_marks (pupil_mis_id)');
  const { rows } = await tx.query<{ pupil_mis_id: string; n: number }>(
    'SELECT pupil_mis_id, count(*)::int AS n FROM stage_marks GROUP BY pupil_mis_id ORDER BY pupil_mis_id',
  );
  const chunks: [string, string][] = [];
  let from: string | null = null;
  let marks = 0;
  for (const r of rows) {
    from ??= r.pupil_mis_id;
    marks += r.n;
    if (marks >= size) {
      chunks.push([from, r.pupil_mis_id]);
      from = null;
      marks = 0;
    }
  }
  const last = rows.at(-1);
  if (from !== null && last) chunks.push([from, last.pupil_mis_id]);
  return chunks;
}
