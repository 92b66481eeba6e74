import type { StoredMark } from '../domain/attendance/pupil-year.ts';
import type { Queryable } from './db.ts';

/**
 * What the pupil page reads: the pupil (names, year, flags from the MIS and set by hand, on or off
 * roll), their marks from a date, and their visits with the outcome of each. Trigger episodes come
 * from `listEpisodes` (store/triggers.ts). Read only.
 */
export async function pupilOfPage(db: Queryable, schoolId: string, misId: string) {
  const { rows } = await db.query<{
    mis_id: string;
    upn: string | null;
    forename: string | null;
    surname: string | null;
    year_group: string | null;
    flags: Record<string, unknown>;
    manual_flags: Record<string, { reason?: string; by?: string; at?: string }>;
    left_on: string | null;
  }>(
    `SELECT mis_id, upn, forename, surname, year_group, flags, manual_flags, to_char(left_on, 'YYYY-MM-DD') AS left_on
     FROM pupils WHERE school_id = $1 AND mis_id = $2 AND hidden_at IS NULL`,
    [schoolId, misId],
  );
  return rows[0];
}

/** The pupil's marks on and after `from` (the academic year's start), in date order. */
export async function pupilMarksFrom(
  db: Queryable,
  schoolId: string,
  misId: string,
  from: string,
): Promise<StoredMark[]> {
  const { rows } = await db.query<{ date: string; session: 'AM' | 'PM'; code: string }>(
    `SELECT to_char(date, 'YYYY-MM-DD') AS date, session, code FROM attendance_marks
     WHERE school_id = $1 AND pupil_mis_id = $2 AND date >= $3::date ORDER BY date, session`,
    [schoolId, misId, from],
  );
  return rows;
}

export interface PupilVisit {
  id: string;
  status: string;
  reason: string;
  plannedFor: string;
  riskLevel: string;
  triggerEpisodeId: string | null;
  authorisedBy: string | null;
  outcome: { childSeen?: boolean; noOneHome?: boolean; spokeTo?: string; concerns?: string } | null;
  completedAt: Date | null;
  cancelReason: string | null;
  followUpDoneAt: Date | null;
}

/** The pupil's visits, newest first, with who authorised each and its outcome. */
export async function pupilVisits(db: Queryable, schoolId: string, misId: string): Promise<PupilVisit[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT v.id, v.status, v.reason, to_char(v.planned_for, 'YYYY-MM-DD') AS planned_for, v.risk_level,
            v.trigger_episode_id, au.display_name AS authorised_by, v.outcome, v.completed_at, v.cancel_reason,
            v.follow_up_done_at
     FROM visits v LEFT JOIN users au ON au.id = v.authorised_by
     WHERE v.school_id = $1 AND v.pupil_mis_id = $2 ORDER BY v.planned_for DESC, v.id DESC LIMIT 200`,
    [schoolId, misId],
  );
  return rows.map((r) => ({
    id: String(r.id),
    status: r.status as string,
    reason: r.reason as string,
    plannedFor: r.planned_for as string,
    riskLevel: r.risk_level as string,
    triggerEpisodeId: r.trigger_episode_id === null ? null : String(r.trigger_episode_id),
    authorisedBy: (r.authorised_by as string | null) ?? null,
    outcome: (r.outcome as PupilVisit['outcome']) ?? null,
    completedAt: r.completed_at ? new Date(r.completed_at as string) : null,
    cancelReason: (r.cancel_reason as string | null) ?? null,
    followUpDoneAt: r.follow_up_done_at ? new Date(r.follow_up_done_at as string) : null,
  }));
}

/** The trigger a visit was asked for from: what fired, why in a sentence, its evidence (undefined: none). */
export async function triggerOfVisit(db: Queryable, schoolId: string, episodeId: string) {
  const { rows } = await db.query<{
    title: string;
    explanation: string;
    evidence: unknown;
    status: string;
    opened_on: string;
  }>(
    `SELECT title, explanation, evidence, status, to_char(opened_on, 'YYYY-MM-DD') AS opened_on
     FROM trigger_episodes WHERE id = $1 AND school_id = $2`,
    [episodeId, schoolId],
  );
  return rows[0];
}

/** The titles of a school's trigger episodes (episode id → title), for the reasons visits were asked for with. */
export async function triggerTitlesOf(
  db: Queryable,
  schoolId: string,
  episodeIds: string[],
): Promise<Map<string, string>> {
  if (episodeIds.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; title: string }>(
    `SELECT id::text AS id, title FROM trigger_episodes WHERE school_id = $1 AND id = ANY($2::bigint[])`,
    [schoolId, episodeIds],
  );
  return new Map(rows.map((r) => [r.id, r.title]));
}
