import { RESOLUTION_REASONS, type ResolutionReason } from '../domain/escalation/resolution.ts';
import type { Queryable } from './db.ts';
import type { Address, Commute, FamilyNotice, Vehicle, VisitStatus } from './visits.ts';

/** The register's writes, one per step of a visit (request → outcome); the caller holds the lock and audits. */

export interface NewVisit {
  schoolId: string;
  pupilMisId: string;
  triggerEpisodeId: string | null;
  reason: string;
  address: Address;
  plannedFor: string;
  riskLevel: 'low' | 'minor' | 'major';
  riskNotes: string | null;
  requestedBy: string;
  leadUserId: string | null;
  /** The appointment's time (Thames View 2.7), when made at the request. */
  appointmentAt?: Date | null;
  /** The visit whose broken agreement asks for this one (Thames View 4.3). */
  followsVisitId?: string | null;
  /** Made on the way to work or home from work (null: from school and back). */
  commute?: Commute | null;
}

/** A visit asked for; returns its id. */
export async function insertVisit(tx: Queryable, v: NewVisit): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO visits (school_id, pupil_mis_id, trigger_episode_id, reason, address, planned_for, risk_level, risk_notes,
       status, requested_by, lead_user_id, appointment_at, follows_visit_id, commute)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'requested', $9, $10, $11, $12, $13) RETURNING id`,
    [
      v.schoolId,
      v.pupilMisId,
      v.triggerEpisodeId,
      v.reason,
      JSON.stringify(v.address),
      v.plannedFor,
      v.riskLevel,
      v.riskNotes,
      v.requestedBy,
      v.leadUserId,
      v.appointmentAt ?? null,
      v.followsVisitId ?? null,
      v.commute ?? null,
    ],
  );
  return String(rows[0]!.id);
}

/** A visit on the way to or from work approved beforehand. */
export async function markCommuteApproved(
  tx: Queryable,
  visitId: string,
  a: { by: string; at: Date },
): Promise<void> {
  await tx.query(
    `UPDATE visits SET commute_approved_by = $2, commute_approved_at = $3, updated_at = now() WHERE id = $1`,
    [visitId, a.by, a.at],
  );
}

/** An assessor sets the visit's risk level, with why and the address flags it was made with. */
export async function setRiskAssessment(
  tx: Queryable,
  visitId: string,
  a: { level: 'low' | 'minor' | 'major'; by: string; at: Date; reason: string; flagIds: readonly string[] },
): Promise<void> {
  await tx.query(
    `UPDATE visits SET risk_level = $2, risk_assessed_by = $3, risk_assessed_at = $4, risk_reason = $5,
       risk_assessed_flags = $6::bigint[], updated_at = now()
     WHERE id = $1`,
    [visitId, a.level, a.by, a.at, a.reason, [...a.flagIds]],
  );
}

/**
 * Who leads the visit before it leaves ("I'll go on this visit", or not going after all: null). Only a
 * visit not yet left: a departure records its lead with the rest (`markDeparted`).
 */
export async function setVisitLead(tx: Queryable, visitId: string, leadUserId: string | null): Promise<void> {
  await tx.query(
    `UPDATE visits SET lead_user_id = $2, updated_at = now() WHERE id = $1 AND departed_at IS NULL`,
    [visitId, leadUserId],
  );
}

/** One visit authorised. */
export async function markAuthorised(
  tx: Queryable,
  visitId: string,
  a: { by: string; at: Date; note: string | null; outOfHours: boolean },
): Promise<void> {
  await tx.query(
    `UPDATE visits SET status = 'authorised', authorised_by = $2, authorised_at = $3, authorisation_note = $4,
       out_of_hours_approved = $5, updated_at = now() WHERE id = $1`,
    [visitId, a.by, a.at, a.note, a.outOfHours],
  );
}

/** An authorised visit approved outside the pack's hours. */
export async function markOutOfHoursApproved(tx: Queryable, visitId: string): Promise<void> {
  await tx.query(`UPDATE visits SET out_of_hours_approved = true, updated_at = now() WHERE id = $1`, [
    visitId,
  ]);
}

/**
 * The day's list signed: of `ids` (those the signer was shown and the lifecycle lets them sign), the
 * visits still requested at `schoolId` are authorised; returns their ids. The caller holds their locks.
 */
export async function authoriseListed(
  tx: Queryable,
  schoolId: string,
  ids: readonly string[],
  by: string,
  at: Date,
): Promise<string[]> {
  if (!ids.length) return [];
  const { rows } = await tx.query<{ id: string }>(
    `UPDATE visits SET status = 'authorised', authorised_by = $3, authorised_at = $4,
       authorisation_note = 'day list signed', updated_at = now()
     WHERE school_id = $1 AND id = ANY($2::bigint[]) AND status = 'requested' RETURNING id`,
    [schoolId, [...ids], by, at],
  );
  return rows.map((r) => String(r.id)).sort((a, b) => Number(a) - Number(b));
}

/**
 * Back to `requested`: the visit's authorisation, risk assessment, out-of-hours and commute approvals
 * are withdrawn (its address changed). The risk level stays as it was, now a proposal until assessed.
 */
export async function withdrawApproval(tx: Queryable, visitId: string): Promise<void> {
  await tx.query(
    `UPDATE visits SET status = 'requested', authorised_by = NULL, authorised_at = NULL, authorisation_note = NULL,
       out_of_hours_approved = false, risk_assessed_by = NULL, risk_assessed_at = NULL, risk_reason = NULL,
       risk_assessed_flags = NULL,
       commute_approved_by = NULL, commute_approved_at = NULL, updated_at = now()
     WHERE id = $1`,
    [visitId],
  );
}

export interface DepartureRow {
  lead: string;
  partner: string | null;
  at: Date;
  estimatedArrivalAt: Date | null;
  expectedReturnAt: Date;
  checkInMinutes: number | null;
  safeWord: string | null;
  phone: string | null;
  vehicle: Vehicle | null;
  fobDeviceId: string | null;
  /** Every device registered to the lead when they left but those other visits out held (fobDeviceId the first). */
  fobDeviceIds?: readonly string[];
  /** Every device registered to the partner when they left but those other visits out held. */
  partnerFobDeviceIds?: readonly string[];
}

/** Leaving school: who went, until when, how to reach them. */
export async function markDeparted(tx: Queryable, visitId: string, d: DepartureRow): Promise<void> {
  await tx.query(
    `UPDATE visits SET status = 'departed', lead_user_id = $2, partner_user_id = $3, departed_at = $4,
       expected_return_at = $5, check_in_minutes = $6, safe_word = $7, worker_phone = $8, vehicle = $9,
       fob_device_id = $10, estimated_arrival_at = $11, fob_device_ids = $12::text[],
       partner_fob_device_ids = $13::text[], updated_at = now()
     WHERE id = $1`,
    [
      visitId,
      d.lead,
      d.partner,
      d.at,
      d.expectedReturnAt,
      d.checkInMinutes,
      d.safeWord,
      d.phone,
      d.vehicle ? JSON.stringify(d.vehicle) : null,
      d.fobDeviceId,
      d.estimatedArrivalAt,
      [...(d.fobDeviceIds ?? [])],
      [...(d.partnerFobDeviceIds ?? [])],
    ],
  );
}

/** A check-in from the phone page or the office: kept, and the visit's last check-in moves to it. */
export async function addCheckIn(
  tx: Queryable,
  visitId: string,
  at: Date,
  source: 'phone' | 'office',
  byUserId: string,
): Promise<void> {
  await tx.query('INSERT INTO visit_check_ins (visit_id, at, source, by_user_id) VALUES ($1, $2, $3, $4)', [
    visitId,
    at,
    source,
    byUserId,
  ]);
  await tx.query('UPDATE visits SET last_check_in_at = $2, updated_at = now() WHERE id = $1', [visitId, at]);
}

/** Back safe: returned (or completed, when `status` says so) at `at`. */
export async function markBackSafe(
  tx: Queryable,
  visitId: string,
  status: VisitStatus,
  at: Date,
  by: string,
): Promise<void> {
  await tx.query(
    `UPDATE visits SET status = $2, returned_at = $3, back_safe_by = $4,
       completed_at = CASE WHEN $2 = 'completed' THEN $3 ELSE completed_at END, updated_at = now() WHERE id = $1`,
    [visitId, status, at, by],
  );
}

/**
 * Back safe undone ("I am still out"): out again, `status` (departed, or still cancelled), not back,
 * not completed; the check-in clock counts from `at`. The new return time is `changeExpectedReturn`'s.
 */
export async function markWatchResumed(
  tx: Queryable,
  visitId: string,
  status: VisitStatus,
  at: Date,
): Promise<void> {
  await tx.query(
    `UPDATE visits SET status = $2, returned_at = NULL, back_safe_by = NULL,
       completed_at = CASE WHEN $2 = 'completed' THEN completed_at END, last_check_in_at = $3, updated_at = now()
     WHERE id = $1`,
    [visitId, status, at],
  );
}

/** Thames View 3.5: the parent/carer's notice that they are running late, recorded at `at` by `by` (`user:<id>`). */
export async function markParentLateNotice(
  tx: Queryable,
  visitId: string,
  at: Date,
  by: string,
): Promise<void> {
  await tx.query(
    'UPDATE visits SET parent_late_notice_at = $2, parent_late_notice_by = $3, updated_at = now() WHERE id = $1',
    [visitId, at, by],
  );
}

export async function markArrived(tx: Queryable, visitId: string, at: Date): Promise<void> {
  await tx.query('UPDATE visits SET arrived_at = $2, updated_at = now() WHERE id = $1', [visitId, at]);
}

/**
 * A new expected return, and the change kept in `visit_return_changes`: set by a person (`set`:
 * running late, "I am still out"), or by the watch going on after a person resolved an overdue alarm
 * (`resolution`, by who resolved it — which by itself confirms nobody: lastConfirmedByOthers).
 */
export async function changeExpectedReturn(
  tx: Queryable,
  visitId: string,
  c: {
    at: Date;
    byUserId: string | null;
    previousAt: Date | null;
    newAt: Date;
    reason: string;
    source?: 'set' | 'resolution';
  },
): Promise<void> {
  await tx.query('UPDATE visits SET expected_return_at = $2, updated_at = now() WHERE id = $1', [
    visitId,
    c.newAt,
  ]);
  await tx.query(
    `INSERT INTO visit_return_changes (visit_id, at, by_user_id, previous_at, new_at, reason, source)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [visitId, c.at, c.byUserId, c.previousAt, c.newAt, c.reason, c.source ?? 'set'],
  );
}

export async function markFollowUpDone(tx: Queryable, visitId: string, at: Date, by: string): Promise<void> {
  await tx.query(
    'UPDATE visits SET follow_up_done_at = $2, follow_up_done_by = $3, updated_at = now() WHERE id = $1',
    [visitId, at, by],
  );
}

/** The outcome recorded; `status` completed (completed_at set) or unchanged while the worker is out. */
export async function saveOutcome(
  tx: Queryable,
  visitId: string,
  outcome: Record<string, unknown>,
  status: VisitStatus,
  at: Date,
): Promise<void> {
  await tx.query(
    `UPDATE visits SET status = $4, outcome = $2,
       completed_at = CASE WHEN $4 = 'completed' THEN $3 ELSE completed_at END, updated_at = now() WHERE id = $1`,
    [visitId, JSON.stringify(outcome), at, status],
  );
}

export async function markCancelled(tx: Queryable, visitId: string, at: Date, reason: string): Promise<void> {
  await tx.query(
    `UPDATE visits SET status = 'cancelled', cancelled_at = $2, cancel_reason = $3, updated_at = now() WHERE id = $1`,
    [visitId, at, reason],
  );
}

/** How the family was told (or the exemption), recorded on the visit; null: not told (any more). */
export async function saveFamilyNotice(
  tx: Queryable,
  visitId: string,
  notice: FamilyNotice | null,
): Promise<void> {
  await tx.query('UPDATE visits SET family_notice = $2, updated_at = now() WHERE id = $1', [
    visitId,
    notice === null ? null : JSON.stringify(notice),
  ]);
}

/** How long the watch waits for a worker still out after a person resolved their overdue alarm. */
export const REARM_AFTER_RESOLUTION_MINUTES = 15;

/**
 * A person (`by`: `user:<id>`, or another actor) resolved a visit alarm as `reason` while the worker
 * is still out (not back safe): the watch must go on, whatever the reason. An overdue alarm's visit
 * is expected back `REARM_AFTER_RESOLUTION_MINUTES` from now at the latest (a new deadline, so a new
 * overdue alarm if they are not), kept as a change of the return time by the resolution; a missed
 * check-in restarts the check-in clock from now, kept as a `resolution` check-in by whoever resolved
 * it; a silent fob's silence counts again from now (the watcher reads the resolution). Neither is the
 * office confirming the worker: only the resolution itself, for a reason that says they spoke to them
 * and by someone not on the visit, counts as that (lastConfirmedByOthers). Returns what was re-armed.
 */
export async function rearmWatchAfterResolution(
  tx: Queryable,
  visitId: string,
  alarmType: string,
  now: Date,
  resolution: { by: string; reason: ResolutionReason },
): Promise<'return' | 'check-in' | 'silence' | null> {
  const { rows } = await tx.query<{ expected_return_at: Date | null }>(
    'SELECT expected_return_at FROM visits WHERE id = $1 AND departed_at IS NOT NULL AND returned_at IS NULL',
    [visitId],
  );
  if (!rows.length) return null;
  const byUserId = /^user:(\d+)$/.exec(resolution.by)?.[1] ?? null;
  if (alarmType === 'overdue_visit') {
    const previousAt = rows[0]!.expected_return_at ? new Date(rows[0]!.expected_return_at) : null;
    const newAt = new Date(now.getTime() + REARM_AFTER_RESOLUTION_MINUTES * 60_000);
    if (previousAt === null || newAt > previousAt)
      await changeExpectedReturn(tx, visitId, {
        at: now,
        byUserId,
        previousAt,
        newAt,
        reason: `overdue alarm resolved (${RESOLUTION_REASONS[resolution.reason]}): expected back within ${REARM_AFTER_RESOLUTION_MINUTES} minutes or overdue again`,
        source: 'resolution',
      });
    return 'return';
  }
  if (alarmType === 'missed_check_in') {
    await tx.query(
      `UPDATE visits SET last_check_in_at = GREATEST(COALESCE(last_check_in_at, $2), $2), updated_at = now()
       WHERE id = $1`,
      [visitId, now],
    );
    await tx.query(
      `INSERT INTO visit_check_ins (visit_id, at, source, by_user_id) VALUES ($1, $2, 'resolution', $3)`,
      [visitId, now, byUserId],
    );
    return 'check-in';
  }
  // The watcher counts the fob's silence from this resolution (`visitsOutForWatch`).
  if (alarmType === 'device_silent') return 'silence';
  return null;
}
