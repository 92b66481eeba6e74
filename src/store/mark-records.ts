import type { Queryable } from './db.ts';

/** A stored mark and the MIS record that gave it. */
export interface MarkSource {
  pupil: string;
  date: string;
  session: 'AM' | 'PM';
  recordId: string;
}

/**
 * Notes which MIS record gave each of these marks (`mark_records`), for the marks the school now
 * holds (a mark rejected or for a pupil it has not got is not noted), with the import that stored
 * the mark as it now stands. A session keeps the record that gave it last. The caller gives each
 * session once.
 */
export async function noteMarkSources(
  tx: Queryable,
  schoolId: string,
  sources: readonly MarkSource[],
): Promise<void> {
  if (sources.length === 0) return;
  await tx.query(
    `INSERT INTO mark_records (school_id, pupil_mis_id, date, session, record_id, import_id)
     SELECT $1, u.p, u.d, u.s, u.r, am.import_ids[attendance_slot(u.d, u.s)]
     FROM unnest($2::text[], $3::date[], $4::text[], $5::text[]) AS u(p, d, s, r)
     JOIN attendance_months am
       ON am.school_id = $1 AND am.pupil_mis_id = u.p AND am.month = date_trunc('month', u.d)::date
     WHERE am.codes[attendance_slot(u.d, u.s)] IS NOT NULL
     ON CONFLICT (school_id, pupil_mis_id, date, session)
       DO UPDATE SET record_id = excluded.record_id, import_id = excluded.import_id`,
    [
      schoolId,
      sources.map((s) => s.pupil),
      sources.map((s) => s.date),
      sources.map((s) => s.session),
      sources.map((s) => s.recordId),
    ],
  );
}

/** What removing deleted records' marks did. */
export interface RemovedMarks {
  removed: number;
  /** MIS ids of the pupils who lost a mark. */
  changedPupils: string[];
}

/**
 * The MIS deleted these records: each session whose mark one of them gave (and no later record
 * replaced, nor a later import — a file — changed) loses it, with an audit entry keeping the mark it
 * had (`attendance.mark.removed`). A record Doorstep never stored a mark from removes nothing.
 */
export async function removeMarksOfRecords(
  tx: Queryable,
  schoolId: string,
  actor: string,
  importId: string,
  recordIds: readonly string[],
): Promise<RemovedMarks> {
  if (recordIds.length === 0) return { removed: 0, changedPupils: [] };
  const { rows: gone } = await tx.query<{
    pupil_mis_id: string;
    date: string;
    session: string;
    record_id: string;
    import_id: string;
  }>(
    `DELETE FROM mark_records WHERE school_id = $1 AND record_id = ANY($2::text[])
     RETURNING pupil_mis_id, to_char(date, 'YYYY-MM-DD') AS date, session, record_id, import_id`,
    [schoolId, [...new Set(recordIds)]],
  );
  if (gone.length === 0) return { removed: 0, changedPupils: [] };
  // Through the marks view: its trigger clears the session's slot (and the month, once empty).
  const { rows: removed } = await tx.query<{ pupil_mis_id: string; date: string; session: string }>(
    `WITH gone AS (
       SELECT * FROM unnest($2::text[], $3::date[], $4::text[], $5::text[], $8::bigint[]) AS g(p, d, s, r, i)
     ),
     removed AS (
       -- Only while the mark is the one that record gave: not one a later import changed since.
       DELETE FROM attendance_marks m USING gone g
       WHERE m.school_id = $1 AND m.pupil_mis_id = g.p AND m.date = g.d AND m.session = g.s
         AND m.import_id = g.i
       RETURNING m.pupil_mis_id, m.date, m.session, m.code, m.local_code, m.import_id, g.r
     ),
     audit AS (
       INSERT INTO audit_log (actor, action, school_id, entity_type, entity_id, before, after)
       SELECT $6, 'attendance.mark.removed', $1, 'attendance_mark',
              pupil_mis_id || '/' || to_char(date, 'YYYY-MM-DD') || '/' || session,
              jsonb_build_object('code', code, 'localCode', local_code, 'importId', import_id),
              jsonb_build_object('code', NULL, 'deletedRecord', r, 'importId', $7::bigint)
       FROM removed
     )
     SELECT pupil_mis_id, to_char(date, 'YYYY-MM-DD') AS date, session FROM removed`,
    [
      schoolId,
      gone.map((g) => g.pupil_mis_id),
      gone.map((g) => g.date),
      gone.map((g) => g.session),
      gone.map((g) => g.record_id),
      actor,
      importId,
      gone.map((g) => g.import_id),
    ],
  );
  return {
    removed: removed.length,
    changedPupils: [...new Set(removed.map((r) => r.pupil_mis_id))].sort(),
  };
}
