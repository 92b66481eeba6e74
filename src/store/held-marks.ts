import type { Queryable } from './db.ts';

/** A mark an API sync could not apply yet (`held_marks`): dated ahead, or for a pupil not yet known. */
export interface HeldMark {
  pupilMisId: string;
  date: string;
  session: 'AM' | 'PM';
  mark: string;
  minutesLate: number | null;
  recordId: string | null;
  vendorCategory: string | null;
  why: 'future-date' | 'unknown-pupil';
}

/** Keeps marks to apply later (the latest of a session wins). */
export async function holdMarks(
  tx: Queryable,
  schoolId: string,
  source: string,
  marks: readonly HeldMark[],
  /** The import's day (its clock, not the database's): a month from it, one that cannot apply is dropped. */
  heldOn: string,
  /** The import that held them: a mark for the session from a later import is newer. */
  importId: string,
): Promise<void> {
  if (marks.length === 0) return;
  // One row per session (a page may repeat one): the last given wins, as it would applied.
  const latest = new Map<string, HeldMark>();
  for (const m of marks) latest.set(`${m.pupilMisId}\u0000${m.date}\u0000${m.session}`, m);
  await tx.query(
    `INSERT INTO held_marks (school_id, source, pupil_mis_id, date, session, mark, minutes_late, record_id, vendor_category, why, held_at, import_id)
     SELECT $1, $2, m.pupil_mis_id, m.date, m.session, m.mark, m.minutes_late, m.record_id, m.vendor_category, m.why, $4::date, $5::bigint
     FROM jsonb_to_recordset($3::jsonb) AS m(pupil_mis_id text, date date, session text, mark text, minutes_late int,
                                            record_id text, vendor_category text, why text)
     ON CONFLICT (school_id, source, pupil_mis_id, date, session) DO UPDATE SET
       mark = EXCLUDED.mark, minutes_late = EXCLUDED.minutes_late, record_id = EXCLUDED.record_id,
       vendor_category = EXCLUDED.vendor_category, why = EXCLUDED.why, import_id = EXCLUDED.import_id`,
    [
      schoolId,
      source,
      JSON.stringify(
        [...latest.values()].map((m) => ({
          pupil_mis_id: m.pupilMisId,
          date: m.date,
          session: m.session,
          mark: m.mark,
          minutes_late: m.minutesLate,
          record_id: m.recordId,
          vendor_category: m.vendorCategory,
          why: m.why,
        })),
      ),
      heldOn,
      importId,
    ],
  );
}

/**
 * A held mark's session as a later import left it: a mark written there by an import after the one
 * that held it (a file's correction, another source's sync) is newer. Such held marks are taken out,
 * never applied over it. Returns how many.
 */
export async function releaseSupersededHeldMarks(
  db: Queryable,
  schoolId: string,
  source: string,
): Promise<number> {
  const r = await db.query(
    `DELETE FROM held_marks h USING attendance_months m
     WHERE h.school_id = $1 AND h.source = $2
       AND m.school_id = h.school_id AND m.pupil_mis_id = h.pupil_mis_id
       AND m.month = date_trunc('month', h.date)::date
       AND m.import_ids[attendance_slot(h.date, h.session)] > COALESCE(h.import_id, 0)`,
    [schoolId, source],
  );
  return r.rowCount;
}

/** The held marks that can be applied now: their day has come and their pupil is known. */
export async function heldMarksReady(
  db: Queryable,
  schoolId: string,
  source: string,
  today: string,
): Promise<HeldMark[]> {
  const { rows } = await db.query<{
    pupil_mis_id: string;
    date: string;
    session: 'AM' | 'PM';
    mark: string;
    minutes_late: number | null;
    record_id: string | null;
    vendor_category: string | null;
    why: HeldMark['why'];
  }>(
    `SELECT h.pupil_mis_id, to_char(h.date, 'YYYY-MM-DD') AS date, h.session, h.mark, h.minutes_late,
            h.record_id, h.vendor_category, h.why
     FROM held_marks h
     WHERE h.school_id = $1 AND h.source = $2 AND h.date <= $3::date
       AND EXISTS (SELECT 1 FROM pupils p WHERE p.school_id = h.school_id AND p.mis_id = h.pupil_mis_id)
     ORDER BY h.pupil_mis_id, h.date, h.session`,
    [schoolId, source, today],
  );
  return rows.map((r) => ({
    pupilMisId: r.pupil_mis_id,
    date: r.date,
    session: r.session,
    mark: r.mark,
    minutesLate: r.minutes_late,
    recordId: r.record_id,
    vendorCategory: r.vendor_category,
    why: r.why,
  }));
}

/**
 * Takes out held marks: those applied (by session), or those of records the MIS deleted since.
 * Returns how many.
 */
export async function releaseHeldMarks(
  db: Queryable,
  schoolId: string,
  source: string,
  which: {
    sessions?: readonly Pick<HeldMark, 'pupilMisId' | 'date' | 'session'>[];
    recordIds?: readonly string[];
  },
): Promise<number> {
  let n = 0;
  if (which.sessions?.length) {
    const r = await db.query(
      `DELETE FROM held_marks h USING jsonb_to_recordset($3::jsonb) AS k(pupil_mis_id text, date date, session text)
       WHERE h.school_id = $1 AND h.source = $2 AND h.pupil_mis_id = k.pupil_mis_id AND h.date = k.date
         AND h.session = k.session`,
      [
        schoolId,
        source,
        JSON.stringify(
          which.sessions.map((s) => ({ pupil_mis_id: s.pupilMisId, date: s.date, session: s.session })),
        ),
      ],
    );
    n += r.rowCount;
  }
  if (which.recordIds?.length) {
    const r = await db.query(
      'DELETE FROM held_marks WHERE school_id = $1 AND source = $2 AND record_id = ANY($3::text[])',
      [schoolId, source, [...which.recordIds]],
    );
    n += r.rowCount;
  }
  return n;
}

/**
 * Drops held marks that still cannot be applied a month on (a pupil never imported, a day that came
 * and went with its pupil still unknown). Returns how many, by why.
 */
export async function dropStaleHeldMarks(
  db: Queryable,
  schoolId: string,
  source: string,
  now: Date,
): Promise<number> {
  const r = await db.query(
    `DELETE FROM held_marks h WHERE h.school_id = $1 AND h.source = $2 AND h.held_at < $3::timestamptz - interval '30 days'
       AND h.date < $3::timestamptz
       AND NOT EXISTS (SELECT 1 FROM pupils p WHERE p.school_id = h.school_id AND p.mis_id = h.pupil_mis_id)`,
    [schoolId, source, now],
  );
  return r.rowCount;
}

/**
 * Held marks whose pupil the source named by its own id (a Wonde student in none of its lists when
 * the mark came, `wonde:<id>`) are moved to the pupil's MIS id once a sync learns it (`translate`),
 * so they apply like any held mark. A held mark for the same session already under that MIS id is
 * kept when it is the newer (held by a later import), else replaced. Returns how many moved.
 */
export async function renameHeldPupils(
  db: Queryable,
  schoolId: string,
  source: string,
  translate: (heldId: string) => string | undefined,
): Promise<number> {
  const { rows } = await db.query<{ pupil_mis_id: string }>(
    `SELECT DISTINCT h.pupil_mis_id FROM held_marks h
     WHERE h.school_id = $1 AND h.source = $2
       AND NOT EXISTS (SELECT 1 FROM pupils p WHERE p.school_id = h.school_id AND p.mis_id = h.pupil_mis_id)`,
    [schoolId, source],
  );
  const renames = rows.flatMap((r) => {
    const to = translate(r.pupil_mis_id);
    return to !== undefined && to !== r.pupil_mis_id ? [{ from: r.pupil_mis_id, to }] : [];
  });
  if (renames.length === 0) return 0;
  const map = JSON.stringify(renames);
  // Of two held marks for one session, the one held by the later import stays.
  await db.query(
    `DELETE FROM held_marks t USING held_marks f, jsonb_to_recordset($3::jsonb) AS r("from" text, "to" text)
     WHERE f.school_id = $1 AND f.source = $2 AND f.pupil_mis_id = r."from"
       AND t.school_id = $1 AND t.source = $2 AND t.pupil_mis_id = r."to"
       AND t.date = f.date AND t.session = f.session
       AND COALESCE(t.import_id, 0) <= COALESCE(f.import_id, 0)`,
    [schoolId, source, map],
  );
  await db.query(
    `DELETE FROM held_marks f USING held_marks t, jsonb_to_recordset($3::jsonb) AS r("from" text, "to" text)
     WHERE f.school_id = $1 AND f.source = $2 AND f.pupil_mis_id = r."from"
       AND t.school_id = $1 AND t.source = $2 AND t.pupil_mis_id = r."to"
       AND t.date = f.date AND t.session = f.session`,
    [schoolId, source, map],
  );
  const moved = await db.query(
    `UPDATE held_marks h SET pupil_mis_id = r."to" FROM jsonb_to_recordset($3::jsonb) AS r("from" text, "to" text)
     WHERE h.school_id = $1 AND h.source = $2 AND h.pupil_mis_id = r."from"`,
    [schoolId, source, map],
  );
  return moved.rowCount;
}

/** How a CTF's mark for a pupil the school's MIS does not list yet is held: under their UPN, so. */
export const HELD_UPN_PREFIX = 'upn:';

/**
 * Held CTF marks of pupils the school's MIS did not list when the CTF came (`upn:<UPN>`) are moved to
 * the MIS id of the one pupil the school now has with that UPN, so they apply like any held mark; a
 * UPN no pupil has yet, or two pupils share, stays held. Returns how many moved.
 */
export async function releaseHeldUpns(db: Queryable, schoolId: string, source: string): Promise<number> {
  const { rows } = await db.query<{ held: string; mis_id: string }>(
    `SELECT h.held, min(p.mis_id) AS mis_id
     FROM (SELECT DISTINCT pupil_mis_id AS held FROM held_marks
           WHERE school_id = $1 AND source = $2 AND starts_with(pupil_mis_id, $3)) h
     JOIN pupils p ON p.school_id = $1 AND p.upn = substr(h.held, length($3) + 1)
     GROUP BY h.held HAVING count(*) = 1`,
    [schoolId, source, HELD_UPN_PREFIX],
  );
  if (rows.length === 0) return 0;
  const to = new Map(rows.map((r) => [r.held, r.mis_id]));
  return renameHeldPupils(db, schoolId, source, (held) => to.get(held));
}
