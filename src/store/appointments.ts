import type { Queryable } from './db.ts';
import type { Address } from './visits.ts';

/** Thames View 2.7 / 4.3: a visit's appointment, its records, the breaches of its agreements. */

/** The appointment's time (and, when given, a new address); the caller holds the visit's lock. */
export async function saveAppointment(
  tx: Queryable,
  visitId: string,
  a: { at: Date; address?: Address | undefined },
): Promise<void> {
  // A parent's warning that they will be late (Thames View 3.5) was about the old time: withdrawn
  // with it (SET reads the row as it was).
  await tx.query(
    `UPDATE visits SET appointment_at = $2, address = COALESCE($3::jsonb, address),
       parent_late_notice_at = CASE WHEN appointment_at IS DISTINCT FROM $2 THEN NULL ELSE parent_late_notice_at END,
       parent_late_notice_by = CASE WHEN appointment_at IS DISTINCT FROM $2 THEN NULL ELSE parent_late_notice_by END,
       updated_at = now()
     WHERE id = $1`,
    [visitId, a.at, a.address ? JSON.stringify(a.address) : null],
  );
}

/**
 * The visit moved to another day: its planned date and appointment (the same time on the new day, or
 * none), and how the family was told cleared — they were told of the old day — as is a parent's
 * warning that they would be late (Thames View 3.5: it was for the old day). An exemption from
 * telling them (it rests on the pupil, not the day) stays.
 */
export async function moveVisitDate(
  tx: Queryable,
  visitId: string,
  m: { plannedFor: string; appointmentAt: Date | null },
): Promise<void> {
  await tx.query(
    `UPDATE visits SET planned_for = $2::date, appointment_at = $3,
       family_notice = CASE WHEN family_notice->>'method' IS NULL THEN family_notice END,
       parent_late_notice_at = NULL, parent_late_notice_by = NULL, updated_at = now()
     WHERE id = $1`,
    [visitId, m.plannedFor, m.appointmentAt],
  );
}

/** How many appointment records the visit has had written (after one more is put in the outbox). */
export async function countAppointmentRecord(tx: Queryable, visitId: string, n: number): Promise<void> {
  await tx.query('UPDATE visits SET appointment_records = $2, updated_at = now() WHERE id = $1', [
    visitId,
    n,
  ]);
}

/** A breach of an agreement, kept with the visit's outcome (the caller holds the lock and checked it). */
export async function appendBrokenAgreement(
  tx: Queryable,
  visitId: string,
  breach: Record<string, unknown>,
): Promise<void> {
  await tx.query(
    `UPDATE visits SET outcome = jsonb_set(outcome, '{broken}',
       COALESCE(outcome->'broken', '[]'::jsonb) || jsonb_build_array($2::jsonb)), updated_at = now()
     WHERE id = $1 AND outcome IS NOT NULL`,
    [visitId, JSON.stringify(breach)],
  );
}

/** The follow-up visit already asked for because of this visit's broken agreements, if any. */
export async function followUpVisitOf(tx: Queryable, visitId: string): Promise<string | null> {
  // A cancelled one no longer stands for it (4.3): the next breach asks for another.
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM visits WHERE follows_visit_id = $1 AND status <> 'cancelled'`,
    [visitId],
  );
  return rows[0] ? String(rows[0].id) : null;
}
