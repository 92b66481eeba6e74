import { noOneReached, onlyOnBoard } from '../domain/escalation/delivery.ts';
import { type AlarmState, DEFAULT_ALARM_POLICY, type EscalationPolicy } from '../domain/escalation/ladder.ts';
import { RESOLUTION_REASONS, type ResolutionReason } from '../domain/escalation/resolution.ts';
import { helpPresser, isHelpAlarm } from './alarm-writer.ts';
import { appendAudit } from './audit.ts';
import type { Queryable, QueryOptions } from './db.ts';
import { notificationDeliveries } from './notify.ts';

export interface AlarmRow {
  id: string;
  schoolId: string;
  type: string;
  deviceId: string | null;
  visitId: string | null;
  staffId: string | null;
  status: AlarmState;
  policy: EscalationPolicy;
  escalationStep: number;
  /**
   * When the next step is planned on the ladder's own schedule (null: when it runs). A failed
   * delivery brings `next_step_at` forward and leaves this: the step, run early, measures its lead
   * from it, and the next round's first level waits that back (`decideStep`).
   */
  plannedAt: Date | null;
  raisedAt: Date;
  /** A TEST alarm (a fob drill): marked everywhere; its resolution defaults to `test`. */
  test: boolean;
  /** Who holds it (`user:<id>`, `office:<name>`…) while it is acknowledged; null when no one does. */
  acknowledgedBy: string | null;
}

/** The alarm, locked for the rest of the transaction (every state change goes through this). */
export async function lockAlarm(tx: Queryable, id: string): Promise<AlarmRow | undefined> {
  return alarmRow(tx, id, true);
}

/** The alarm as it stands, unlocked (a step decides from it, then writes only if it still holds). */
export async function readAlarm(db: Queryable, id: string): Promise<AlarmRow | undefined> {
  return alarmRow(db, id, false);
}

async function alarmRow(db: Queryable, id: string, lock: boolean): Promise<AlarmRow | undefined> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT id, school_id, type, device_id, visit_id, staff_id, status, policy, escalation_step, ladder_planned_at, raised_at, test, acknowledged_by FROM alarms WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: String(r.id),
    schoolId: r.school_id as string,
    type: r.type as string,
    deviceId: (r.device_id as string | null) ?? null,
    visitId: r.visit_id === null || r.visit_id === undefined ? null : String(r.visit_id),
    staffId: (r.staff_id as string | null) ?? null,
    status: r.status as AlarmState,
    // An alarm stored without its ladder (none is written so now) follows Doorstep's default: a
    // step must never fail for want of one, or its ladder would stall for good.
    policy: (r.policy ?? DEFAULT_ALARM_POLICY) as EscalationPolicy,
    escalationStep: r.escalation_step as number,
    plannedAt: r.ladder_planned_at ? new Date(r.ladder_planned_at as string) : null,
    raisedAt: new Date(r.raised_at as string),
    test: r.test === true,
    acknowledgedBy: (r.acknowledged_by as string | null) ?? null,
  };
}

/**
 * The phone's position for an "I need help" alarm raised before the phone had one (the alarm is never
 * held for it): set once, only on a help alarm of this visit raised without a position. False when
 * that is not this alarm, or it has its position already.
 */
export async function setHelpPosition(
  tx: Queryable,
  alarmId: string,
  visitId: string,
  /** Who pressed: only their own help alarm (its key `visit:<visit>:help:<user>:<press>`), still open. */
  userId: string,
  location: { lat: number; lon: number; accuracyM: number | null },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE alarms SET location = $3::jsonb
     WHERE id = $1 AND visit_id = $2 AND type = 'sos' AND fob_event_id IS NULL AND location IS NULL
       AND status <> 'resolved' AND dedup_key LIKE 'visit:' || $2::text || ':help:' || $4::text || ':%'`,
    [alarmId, Number(visitId), JSON.stringify(location), userId],
  );
  return rowCount === 1;
}

/**
 * A line on the alarm's timeline. On the alarm path, before the message is acknowledged (a further
 * alarm of a batch folded in, where a message arrived, whose fob it may be), written with
 * `{ timeoutMs: ALARM_PATH_TIMEOUT_MS }` as the path's other statements are: a database gone silent
 * fails it, and the message is not acknowledged and comes again — never held for minutes.
 */
export async function addTimeline(
  tx: Queryable,
  alarmId: string,
  event: string,
  by: string | null = null,
  options?: QueryOptions,
): Promise<void> {
  await tx.query(
    'INSERT INTO alarm_timeline (alarm_id, event, by_whom) VALUES ($1, $2, $3)',
    [alarmId, event, by],
    options,
  );
}

/** Where the fob said it was when it raised this alarm (null: not a fob alarm, or no fix). */
export async function fobLocationOfAlarm(
  db: Queryable,
  alarmId: string,
): Promise<{ lat: number; lon: number; accuracyM?: number } | null> {
  const { rows } = await db.query<{
    location: { lat: number; lon: number; accuracyM?: number } | null;
  }>('SELECT e.location FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id WHERE a.id = $1', [alarmId]);
  return rows[0]?.location ?? null;
}

export async function timelineOf(db: Queryable, alarmId: string) {
  const { rows } = await db.query<{ at: Date; event: string; by_whom: string | null }>(
    'SELECT at, event, by_whom FROM alarm_timeline WHERE alarm_id = $1 ORDER BY at, id',
    [alarmId],
  );
  return rows.map((r) => ({ at: new Date(r.at), event: r.event, by: r.by_whom }));
}

/** The next step to run (-1: none) and when it is due (shown on the board). */
export async function setEscalationStep(
  tx: Queryable,
  alarmId: string,
  step: number,
  dueAt: Date | null = null,
): Promise<void> {
  await tx.query('UPDATE alarms SET escalation_step = $2, next_step_at = $3 WHERE id = $1', [
    alarmId,
    step,
    step < 0 ? null : dueAt,
  ]);
}

/**
 * The next level is due now rather than at its time (a notification of this level was not
 * delivered). False when it was already brought forward (or is already due): said once. Its planned
 * time (`ladder_planned_at`) stays: the step measures how early it runs when it runs.
 */
export async function bringNextStepForward(tx: Queryable, alarmId: string, now: Date): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE alarms SET next_step_at = $2 WHERE id = $1 AND escalation_step >= 0
       AND (next_step_at IS NULL OR next_step_at > $2)`,
    [alarmId, now],
  );
  return (rowCount ?? 0) > 0;
}

/** The ladder stopped at `step` because the alarm was acknowledged: where a timed-out acknowledgement resumes. */
export async function pauseEscalation(tx: Queryable, alarmId: string, step: number): Promise<void> {
  await tx.query(
    'UPDATE alarms SET escalation_step = -1, next_step_at = NULL, resume_step = $2 WHERE id = $1',
    [alarmId, step],
  );
}

/**
 * Ladders that should have moved and did not: alarms not resolved whose next step fell due more than
 * `graceMs` before `now` (at the first step: raised that long ago) — the step's job failed every try
 * (the database or Redis away for longer than its retries) or was lost. Oldest first, at most `limit`.
 */
export async function stalledLadders(
  db: Queryable,
  now: Date,
  graceMs: number,
  limit = 500,
): Promise<{ id: string; step: number }[]> {
  const { rows } = await db.query<{ id: string; escalation_step: number }>(
    `SELECT id, escalation_step FROM alarms
      WHERE status <> 'resolved' AND escalation_step >= 0
        AND COALESCE(next_step_at, created_at) < $1::timestamptz - make_interval(secs => $2::float8 / 1000)
      ORDER BY COALESCE(next_step_at, created_at) LIMIT $3`,
    [now, graceMs, limit],
  );
  return rows.map((r) => ({ id: String(r.id), step: r.escalation_step }));
}

/**
 * Ladders never started: alarms not resolved still at their first step, never taken (no step due
 * yet), written more than `graceMs` before `now` — the first step's job was never queued (Redis away
 * for the moment of the raise, the raise not failing for it). Oldest first, at most `limit`.
 */
export async function laddersNotStarted(
  db: Queryable,
  now: Date,
  graceMs: number,
  limit = 500,
): Promise<string[]> {
  // The conditions of `alarms_ladder_due` (migration 037), so its index serves this too.
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM alarms
      WHERE status <> 'resolved' AND escalation_step >= 0
        AND COALESCE(next_step_at, created_at) < $1::timestamptz - make_interval(secs => $2::float8 / 1000)
        AND escalation_step = 0 AND next_step_at IS NULL
      ORDER BY COALESCE(next_step_at, created_at) LIMIT $3`,
    [now, graceMs, limit],
  );
  return rows.map((r) => String(r.id));
}

export interface Reopened {
  id: string;
  schoolId: string;
  /**
   * The step to run now: where the ladder paused at the acknowledgement, or — when its next step
   * had not yet run to find it acknowledged — that next step, brought forward to now (it was due
   * later, and until then only the board would have said the alarm was open again).
   */
  resumeStep: number;
  /**
   * Its messages withdrawn while it was acknowledged (a retry after a passing failure, found the
   * alarm taken): pending again, to be sent now — a person not paged then is paged on re-opening.
   */
  resend: string[];
  reopened: number;
}

/**
 * Acknowledgement timeout: every acknowledged alarm whose policy sets `reescalateAfterMinutes` and
 * that is still not resolved (the worker not known to be safe) that long after its acknowledgement
 * is open again — unacknowledged on the board, and back in its ladder where it paused. Audited.
 */
export async function reopenTimedOutAcknowledgements(tx: Queryable, now: Date): Promise<Reopened[]> {
  const { rows } = await tx.query<{
    id: string;
    school_id: string;
    escalation_step: number;
    resume_step: number | null;
    reopened: number;
    minutes: number;
  }>(
    `SELECT id, school_id, escalation_step, resume_step, reopened, (policy->>'reescalateAfterMinutes')::float AS minutes
     FROM alarms
     WHERE status = 'acknowledged' AND policy ? 'reescalateAfterMinutes'
       AND acknowledged_at + make_interval(secs => (policy->>'reescalateAfterMinutes')::float * 60) <= $1
     ORDER BY id FOR UPDATE SKIP LOCKED`,
    [now],
  );
  const out: Reopened[] = [];
  for (const r of rows) {
    const id = String(r.id);
    const paused = r.escalation_step < 0;
    const resumeStep = paused ? (r.resume_step ?? 0) : r.escalation_step;
    await tx.query(
      `UPDATE alarms SET status = 'open', acknowledged_at = NULL, acknowledged_by = NULL, reopened = reopened + 1,
         escalation_step = $2, next_step_at = $3, ladder_planned_at = $3
       WHERE id = $1`,
      [id, resumeStep, now],
    );
    await addTimeline(
      tx,
      id,
      `acknowledged ${r.minutes} min ago and the worker is still not known to be safe: open again`,
    );
    const withdrawn = await tx.query<{ id: string }>(
      `UPDATE notifications SET status = 'pending', last_error = NULL, claimed_until = NULL
       WHERE alarm_id = $1 AND status = 'withdrawn' RETURNING id`,
      [id],
    );
    await appendAudit(tx, {
      actor: 'system:ack-timeout',
      action: 'alarm.reopened',
      schoolId: r.school_id,
      entityType: 'alarm',
      entityId: id,
      before: { status: 'acknowledged' },
      after: { status: 'open', resumeStep },
    });
    out.push({
      id,
      schoolId: r.school_id,
      resumeStep,
      reopened: r.reopened + 1,
      resend: withdrawn.rows.map((n) => String(n.id)),
    });
  }
  return out;
}

export type AckOutcome = 'acknowledged' | 'already-acknowledged' | 'already-resolved' | 'missing';

/**
 * Acknowledges an open alarm: a conditional state change, so acknowledging after resolution does
 * not reopen it and two people acknowledging at once record one acknowledgement.
 */
export async function acknowledge(
  tx: Queryable,
  alarmId: string,
  by: string,
  at: Date,
  via: 'board' | 'cli' | 'sms' | 'call' = 'board',
): Promise<AckOutcome> {
  const alarm = await lockAlarm(tx, alarmId);
  if (!alarm) return 'missing';
  if (alarm.status === 'resolved') return 'already-resolved';
  if (alarm.status === 'acknowledged') return 'already-acknowledged';
  await tx.query(
    `UPDATE alarms SET status = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3, acknowledged_via = $4 WHERE id = $1`,
    [alarmId, at, by, via],
  );
  await addTimeline(
    tx,
    alarmId,
    via === 'sms'
      ? 'acknowledged by SMS reply'
      : via === 'call'
        ? 'acknowledged on a ladder call (pressed 1)'
        : 'acknowledged',
    by,
  );
  await appendAudit(tx, {
    actor: by,
    action: 'alarm.acknowledged',
    schoolId: alarm.schoolId,
    entityType: 'alarm',
    entityId: alarmId,
    before: { status: alarm.status },
    after: { status: 'acknowledged' },
  });
  return 'acknowledged';
}

export {
  PERSON_RESOLUTION_REASONS,
  type PersonResolutionReason,
  type ResolutionReason,
} from '../domain/escalation/resolution.ts';

/** Resolves an alarm (from open or acknowledged) with a reason; a resolved alarm stays resolved. */
export async function resolve(
  tx: Queryable,
  alarmId: string,
  by: string,
  reason: ResolutionReason,
  note: string | null,
  at: Date,
): Promise<'resolved' | 'already-resolved' | 'missing'> {
  const alarm = await lockAlarm(tx, alarmId);
  if (!alarm) return 'missing';
  if (alarm.status === 'resolved') return 'already-resolved';
  await tx.query(
    `UPDATE alarms SET status = 'resolved', resolved_at = $2, resolved_by = $3, resolution_reason = $4, resolution_note = $5 WHERE id = $1`,
    [alarmId, at, by, reason, note],
  );
  await addTimeline(tx, alarmId, `resolved as ${RESOLUTION_REASONS[reason]}`, by);
  await appendAudit(tx, {
    actor: by,
    action: 'alarm.resolved',
    schoolId: alarm.schoolId,
    entityType: 'alarm',
    entityId: alarmId,
    before: { status: alarm.status },
    after: { status: 'resolved', reason },
  });
  return 'resolved';
}

/**
 * A real (not TEST) alarm not resolved yet of this device, or of its wearer (`staffId`: an SOS from
 * their phone, their visit overdue), if any — a fob drill beside it would page leaders "TEST" and the
 * real alarm for the same worker at once. Its id and whether it is the device's own.
 */
export async function openRealAlarmOf(
  db: Queryable,
  schoolId: string,
  deviceId: string,
  staffId: string | null,
): Promise<{ id: string; ofDevice: boolean } | null> {
  const { rows } = await db.query<{ id: string; of_device: boolean }>(
    `SELECT id, device_id IS NOT DISTINCT FROM $2 AS of_device FROM alarms
     WHERE school_id = $1 AND NOT test AND status <> 'resolved' AND (device_id = $2 OR staff_id = $3)
     ORDER BY id LIMIT 1`,
    [schoolId, deviceId, staffId],
  );
  const r = rows[0];
  return r ? { id: String(r.id), ofDevice: r.of_device === true } : null;
}

/** A visit's alarms that are not resolved (what the phone page warns the worker about). */
export async function openAlarmsOfVisit(db: Queryable, visitId: string) {
  const { rows } = await db.query<{
    id: string;
    type: string;
    status: string;
    raised_at: Date;
    from_device: boolean;
    pressed_by: string | null;
  }>(
    `SELECT id, type, status, raised_at, device_id IS NOT NULL AS from_device,
            CASE WHEN ${isHelpAlarm('a')} THEN NULLIF(${helpPresser('a')}, '') END AS pressed_by
     FROM alarms a
     WHERE visit_id = $1 AND status <> 'resolved' ORDER BY raised_at`,
    [visitId],
  );
  const sent = await notificationDeliveries(
    db,
    rows.map((r) => String(r.id)),
  );
  return rows.map((r) => ({
    id: String(r.id),
    type: r.type,
    status: r.status,
    raisedAt: new Date(r.raised_at).toISOString(),
    /** Raised by a fob (not the phone page or the register): the phone never shows or buzzes for it. */
    fromDevice: Boolean(r.from_device),
    /**
     * An "I need help": the user id of who pressed it, read from the key the press was raised under
     * (`helpAlarmKey`), so the partner's phone never says "your alarm" for the lead's. Null otherwise.
     */
    pressedByUserId: r.pressed_by === null ? null : String(r.pressed_by),
    /**
     * Every message to a person failed (the board's "no one else knows"): the phone must not say the
     * alarm is being passed on, but that the worker should phone someone themselves.
     */
    noOneReached: r.status === 'open' && noOneReached(sent.filter((n) => n.alarmId === String(r.id))),
    /** Only the board (and the worker) told so far: the phone says whom to phone, not "alerted". */
    onlyOnBoard: r.status === 'open' && onlyOnBoard(sent.filter((n) => n.alarmId === String(r.id))),
  }));
}
