import type { Queryable } from './db.ts';

/** A follow-up action from a visit's outcome, tracked until done. */
export interface FollowUp {
  id: string;
  schoolId: string;
  visitId: string;
  pupilMisId: string;
  action: string;
  owner: string;
  dueOn: string | null;
  doneAt: Date | null;
}

/** The outcome's follow-up actions as tracked items (in the outcome's transaction). */
export async function insertFollowUps(
  tx: Queryable,
  v: { schoolId: string; visitId: string; pupilMisId: string },
  items: readonly { action: string; by: string; due?: string | null | undefined }[],
): Promise<void> {
  if (!items.length) return;
  await tx.query(
    `INSERT INTO follow_ups (school_id, visit_id, pupil_mis_id, action, owner, due_on)
     SELECT $1, $2, $3, a, o, d FROM unnest($4::text[], $5::text[], $6::date[]) AS t(a, o, d)`,
    [
      v.schoolId,
      v.visitId,
      v.pupilMisId,
      items.map((i) => i.action),
      items.map((i) => i.by),
      items.map((i) => i.due ?? null),
    ],
  );
}

/** A school's follow-ups not yet done, the soonest due first (undated last). */
export async function openFollowUps(db: Queryable, schoolId: string): Promise<FollowUp[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT id, school_id, visit_id, pupil_mis_id, action, owner, due_on::text AS due_on, done_at
     FROM follow_ups WHERE school_id = $1 AND done_at IS NULL ORDER BY due_on NULLS LAST, id LIMIT 200`,
    [schoolId],
  );
  return rows.map(toFollowUp);
}

export async function followUpById(db: Queryable, id: string): Promise<FollowUp | undefined> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT id, school_id, visit_id, pupil_mis_id, action, owner, due_on::text AS due_on, done_at
     FROM follow_ups WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0] ? toFollowUp(rows[0]) : undefined;
}

export async function markFollowUpItemDone(
  tx: Queryable,
  id: string,
  by: string,
  note: string,
  at: Date,
): Promise<void> {
  await tx.query(
    'UPDATE follow_ups SET done_at = $2, done_by = $3, done_note = $4 WHERE id = $1 AND done_at IS NULL',
    [id, at, by, note],
  );
}

function toFollowUp(r: Record<string, unknown>): FollowUp {
  return {
    id: String(r.id),
    schoolId: r.school_id as string,
    visitId: String(r.visit_id),
    pupilMisId: r.pupil_mis_id as string,
    action: r.action as string,
    owner: r.owner as string,
    dueOn: (r.due_on as string | null) ?? null,
    doneAt: r.done_at ? new Date(r.done_at as string) : null,
  };
}
