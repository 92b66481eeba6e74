import { londonDate } from '../domain/attendance/dates.ts';
import { SLOTS_PER_MONTH } from '../domain/attendance/month-slots.ts';
import type { Db, Queryable } from './db.ts';
import { backSafeFinalBefore, erasePupil, keepIncidentAlarms, UNDELIVERED } from './subject-erase.ts';
import { sessionExpiredSql } from './users.ts';

/**
 * Retention in the store: each kind of data has one bounded batch statement (at most `limit` rows,
 * oldest first) that removes — or, where other rows still refer to it, strips — what is older than
 * its cutoff. The purge job runs each kind in short transactions until nothing is due or the run's
 * bound is reached. Nothing here reads the clock: cutoffs are computed by the caller.
 */

/** A school's periods (days unless named otherwise), as `src/config/sections/retention.ts` resolves them. */
export interface RetentionPlan {
  schoolId: string;
  now: Date;
  periods: {
    fobEventDays: number;
    rejectedEventDays: number;
    boardEventDays: number;
    notificationDays: number;
    alarmDays: number;
    importDays: number;
    attendanceAcademicYears: number;
    closedTriggerDays: number;
    visitDays: number;
    deliveredRecordBodyDays: number;
    recordDays: number;
    auditDetailDays: number;
    leaverShownDays: number;
    leaverDataDays: number;
  };
  /** Trust-wide audit-detail period, for entries that belong to no school. */
  trustAuditDetailDays: number;
  batchSize: number;
  maxRowsPerRun: number;
}

/**
 * One batch of a kind: how many rows it removed; or, where a row holds many (a month of marks), how
 * many it removed and whether there may be more.
 */
type Batch = (
  tx: Queryable,
  schoolId: string,
  cutoff: unknown,
  limit: number,
) => Promise<number | { removed: number; more: boolean }>;

const count = async (tx: Queryable, sql: string, p: unknown[]) => (await tx.query(sql, p)).rowCount;

/** Alarms resolved before the cutoff, oldest first ($1 school, $2 cutoff, $3 limit). */
const RESOLVED_ALARMS = `SELECT id FROM alarms WHERE school_id = $1 AND status = 'resolved' AND resolved_at < $2`;

async function deleteAlarms(tx: Queryable, ids: string): Promise<void> {
  // The alarm's own notice (an incident, with the resolver's note), keyed to it; a visit's alarm's
  // notice names its visit and goes with it, as here (its alarms go when the visit does).
  await tx.query(
    `DELETE FROM notices n USING alarms a WHERE a.id IN (${ids}) AND n.school_id = a.school_id
       AND n.notice_key = 'alarm:' || a.id AND n.visit_id IS NOT DISTINCT FROM a.visit_id`,
  );
  await tx.query(
    `DELETE FROM notification_recipients WHERE notification_id IN (SELECT id FROM notifications WHERE alarm_id IN (${ids}))`,
  );
  await tx.query(`DELETE FROM notifications WHERE alarm_id IN (${ids})`);
  await tx.query(`DELETE FROM sms_replies WHERE alarm_id IN (${ids})`);
  await tx.query(`DELETE FROM alarm_timeline WHERE alarm_id IN (${ids})`);
  await tx.query(`DELETE FROM alarms WHERE id IN (${ids})`);
}

const idList = (rows: { id: unknown }[]) => rows.map((r) => String(Number(r.id))).join(',') || 'NULL';

/** A record about pupil row `p` not yet delivered (pending or failed): its erasure waits for it. */
const UNDELIVERED_ABOUT = `SELECT 1 FROM outbox o WHERE o.school_id = p.school_id
  AND o.pupil_ids @> jsonb_build_array(p.mis_id) AND o.status IN (${UNDELIVERED})`;

/**
 * Leavers past the data period not erased because a record about them has not reached CPOMS / Arbor
 * yet (waiting to be sent, or failed and waiting for a person): their ids, at most `limit`. Erased by
 * a later run once their records are delivered — never with the records dropped unsent.
 */
export async function leaversWaitingForRecords(
  db: Queryable,
  schoolId: string,
  cutoff: string,
  limit = 100,
): Promise<string[]> {
  const { rows } = await db.query<{ mis_id: string }>(
    `SELECT mis_id FROM pupils p WHERE school_id = $1 AND left_on <= $2::date AND EXISTS (${UNDELIVERED_ABOUT})
     ORDER BY mis_id LIMIT $3`,
    [schoolId, cutoff, limit],
  );
  return rows.map((r) => r.mis_id);
}

/** The kinds, in the order they run (dependents before what they refer to). */
export const KINDS: Record<string, Batch> = {
  notifications: async (tx, s, c, n) => {
    const { rows } = await tx.query<{ id: string }>(
      `SELECT n.id FROM notifications n JOIN alarms a ON a.id = n.alarm_id
       WHERE a.school_id = $1 AND a.status = 'resolved' AND a.resolved_at < $2 ORDER BY n.id LIMIT $3`,
      [s, c, n],
    );
    if (!rows.length) return 0;
    await tx.query(`DELETE FROM notification_recipients WHERE notification_id IN (${idList(rows)})`);
    return count(tx, `DELETE FROM notifications WHERE id IN (${idList(rows)})`, []);
  },
  /**
   * Resolved alarms not tied to a visit (a visit's alarms go with the visit), and the lone-worker
   * incidents kept when their visit went (`keepIncidentAlarms`).
   */
  alarms: async (tx, s, c, n) => {
    const { rows } = await tx.query<{ id: string }>(
      `${RESOLVED_ALARMS} AND visit_id IS NULL ORDER BY id LIMIT $3`,
      [s, c, n],
    );
    if (rows.length) await deleteAlarms(tx, idList(rows));
    return rows.length;
  },
  /**
   * Completed or cancelled visits (never one out; nor one back safe less than `RESUME_WATCH_MINUTES`
   * ago, whose back safe can still be undone, the worker perhaps still out: passed over until then,
   * which `visitDays` 0 would not otherwise wait for; nor a child not seen still awaiting follow-up),
   * with their alarms — but a lone-worker incident, kept `alarmDays` cut from the visit
   * (`keepIncidentAlarms`).
   */
  visits: async (tx, s, c, n) => {
    const { before, backSafeBefore } = c as VisitCutoff;
    const { rows } = await tx.query<{ id: string }>(
      `SELECT id FROM visits WHERE school_id = $1 AND updated_at < $2
         AND (departed_at IS NULL OR returned_at <= $4)
         AND (status IN ('completed', 'cancelled') OR planned_for < $2::date)
         AND NOT (status = 'completed' AND (outcome->>'childSeen')::boolean IS NOT TRUE AND follow_up_done_at IS NULL)
         -- A visit whose alarm is not resolved stays: deleting it would delete the alarm and stop its ladder.
         AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.visit_id = visits.id AND a.status <> 'resolved')
       ORDER BY id LIMIT $3`,
      [s, before, n, backSafeBefore],
    );
    if (!rows.length) return 0;
    const ids = idList(rows);
    await keepIncidentAlarms(tx, ids, []);
    await deleteAlarms(tx, `SELECT id FROM alarms WHERE visit_id IN (${ids})`);
    await tx.query(`DELETE FROM visit_check_ins WHERE visit_id IN (${ids})`);
    await tx.query(`DELETE FROM follow_ups WHERE visit_id IN (${ids})`);
    await tx.query(`DELETE FROM visit_return_changes WHERE visit_id IN (${ids})`);
    await tx.query(`DELETE FROM notices WHERE visit_id IN (${ids})`);
    return count(tx, `DELETE FROM visits WHERE id IN (${ids})`, []);
  },
  /** Closed trigger episodes no remaining visit refers to. */
  'trigger-episodes': (tx, s, c, n) =>
    count(
      tx,
      `DELETE FROM trigger_episodes WHERE id IN (
         SELECT t.id FROM trigger_episodes t WHERE t.school_id = $1 AND t.status = 'closed' AND t.closed_on < $2::date
           AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.trigger_episode_id = t.id)
         ORDER BY t.id LIMIT $3)`,
      [s, c, n],
    ),
  /** Fob events nothing refers to: deleted. */
  'fob-events': (tx, s, c, n) =>
    count(
      tx,
      `DELETE FROM fob_events WHERE id IN (
         SELECT e.id FROM fob_events e WHERE e.school_id = $1 AND e.received_at < $2
           AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.fob_event_id = e.id)
           AND NOT EXISTS (SELECT 1 FROM visit_check_ins v WHERE v.fob_event_id = e.id)
         ORDER BY e.id LIMIT $3)`,
      [s, c, n],
    ),
  /** Fob events an alarm (resolved) or a check-in refers to: kept, without location, payload or message. */
  'fob-locations': (tx, s, c, n) =>
    count(
      tx,
      `UPDATE fob_events SET location = NULL, raw = '', message = NULL, voice_note_url = NULL WHERE id IN (
         SELECT e.id FROM fob_events e WHERE e.school_id = $1 AND e.received_at < $2
           AND (e.raw <> '' OR e.location IS NOT NULL OR e.message IS NOT NULL OR e.voice_note_url IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.fob_event_id = e.id AND a.status <> 'resolved')
         ORDER BY e.id LIMIT $3)`,
      [s, c, n],
    ),
  /** The phone's position on a help request, once the alarm is resolved. */
  'alarm-locations': (tx, s, c, n) =>
    count(
      tx,
      `UPDATE alarms SET location = NULL WHERE id IN (
         SELECT id FROM alarms WHERE school_id = $1 AND status = 'resolved' AND resolved_at < $2
           AND location IS NOT NULL ORDER BY id LIMIT $3)`,
      [s, c, n],
    ),
  'rejected-events': (tx, s, c, n) =>
    count(
      tx,
      `DELETE FROM rejected_events WHERE id IN (
         SELECT id FROM rejected_events WHERE school_id = $1 AND received_at < $2 ORDER BY id LIMIT $3)`,
      [s, c, n],
    ),
  'board-events': (tx, s, c, n) =>
    count(
      tx,
      `DELETE FROM board_events WHERE id IN (
         SELECT id FROM board_events WHERE school_id = $1 AND created_at < $2 ORDER BY id LIMIT $3)`,
      [s, c, n],
    ),
  imports: (tx, s, c, n) =>
    count(
      tx,
      `DELETE FROM imports WHERE id IN (SELECT id FROM imports WHERE school_id = $1 AND finished_at < $2 ORDER BY id LIMIT $3)`,
      [s, c, n],
    ),
  /**
   * Marks dated before the cutoff (1 September): a month's row at a time, `limit ÷ 62` months a batch
   * (a month holds at most 62 marks) and at least one — so a batch, and a run, may remove up to 61
   * marks more than its bound; counted in marks. A cutoff within a month clears that month's earlier
   * sessions too.
   */
  'attendance-marks': async (tx, s, c, n) => {
    const monthsAtMost = Math.max(1, Math.floor(n / SLOTS_PER_MONTH));
    const { rows } = await tx.query<{ months: number; marks: number }>(
      `WITH gone AS (
         DELETE FROM attendance_months WHERE (school_id, pupil_mis_id, month) IN (
           SELECT school_id, pupil_mis_id, month FROM attendance_months
           WHERE school_id = $1 AND month < date_trunc('month', $2::date) LIMIT $3)
         RETURNING pupil_mis_id, month, (SELECT count(*) FROM unnest(codes) x WHERE x IS NOT NULL) AS marks),
       -- Which MIS record gave each of those marks goes with them.
       sources AS (
         DELETE FROM mark_records r USING gone g
         WHERE r.school_id = $1 AND r.pupil_mis_id = g.pupil_mis_id
           AND r.date >= g.month AND r.date < (g.month + interval '1 month')::date)
       SELECT count(*)::int AS months, COALESCE(sum(marks), 0)::int AS marks FROM gone`,
      [s, c, monthsAtMost],
    );
    const { months, marks } = rows[0]!;
    if (months >= monthsAtMost) return { removed: marks, more: true };
    // The cutoff's own month: the sessions before it (none when the cutoff is the 1st).
    const part = await tx.query(
      `DELETE FROM attendance_marks WHERE school_id = $1 AND date < $2::date
         AND date >= date_trunc('month', $2::date) AND extract(day FROM $2::date) > 1`,
      [s, c],
    );
    await tx.query(
      `DELETE FROM mark_records WHERE school_id = $1 AND date < $2::date AND date >= date_trunc('month', $2::date)`,
      [s, c],
    );
    return { removed: marks + (part.rowCount ?? 0), more: false };
  },
  /**
   * Marks held for a later sync (`held_marks`) that can never apply: dated before the marks' own
   * cutoff (outside the years a sync accepts, and purged the night after if applied), or held two
   * months with their day a month gone. A mark whose pupil is known is applied by the first sync of
   * its source on or after its day, and one whose pupil was never imported is dropped — and said —
   * by its source's sync a month after it was held (`dropStaleHeldMarks`); what is still here a month
   * after both is a source no longer synced (the school moved MIS, or a CTF's UPN no pupil ever
   * had), kept by nothing else for ever.
   */
  'held-marks': (tx, s, c, n) => {
    const { before, heldBefore, dayBefore } = c as HeldCutoff;
    return count(
      tx,
      `DELETE FROM held_marks WHERE (school_id, source, pupil_mis_id, date, session) IN (
         SELECT school_id, source, pupil_mis_id, date, session FROM held_marks
         WHERE school_id = $1 AND (date < $2::date OR (held_at < $3 AND date < $4::date))
         ORDER BY date, held_at LIMIT $5)`,
      [s, before, heldBefore, dayBefore, n],
    );
  },
  /**
   * Records delivered, kept as previews (a school not live yet), or dismissed (failed, never to be sent,
   * recorded by hand by a person who said where: `doorstep outbox dismiss`). Never one not delivered:
   * pending or delivering, nor failed — a failed record waits for a person (`doorstep outbox retry`, or
   * `dismiss`), however old, as erasure and the leavers' erasure wait for it: a safeguarding record is
   * never lost unsent.
   */
  records: (tx, s, c, n) =>
    count(
      tx,
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE school_id = $1 AND status IN ('delivered', 'preview', 'dismissed')
           AND updated_at < $2
         ORDER BY id LIMIT $3)`,
      [s, c, n],
    ),
  /**
   * A delivered record's text: it lives on in CPOMS / Arbor under its remote id; a dismissed one's, as
   * long after its dismissal: it lives on where it was recorded by hand (the dismissal's reason). A
   * preview's text (a school not live yet) as long: it was read before go-live, and a lone-worker
   * incident's copy of the worker's position must not outlive the fob event it came from by a year.
   */
  'record-bodies': (tx, s, c, n) =>
    count(
      tx,
      `UPDATE outbox SET body = '', title = kind WHERE id IN (
         SELECT id FROM outbox WHERE school_id = $1 AND body <> ''
           AND ((status = 'delivered' AND delivered_at < $2) OR (status = 'preview' AND created_at < $2)
                OR (status = 'dismissed' AND dismissed_at < $2))
         ORDER BY id LIMIT $3)`,
      [s, c, n],
    ),
  /** Leavers past the shown period: hidden from the board and the pupil search. */
  'leavers-hidden': (tx, s, c, n) =>
    count(
      tx,
      `UPDATE pupils SET hidden_at = now() WHERE (school_id, mis_id) IN (
         SELECT school_id, mis_id FROM pupils WHERE school_id = $1 AND left_on <= $2::date AND hidden_at IS NULL LIMIT $3)`,
      [s, c, n],
    ),
  /**
   * Leavers past the data period: erased, with everything about them (see erasePupil). Passed over
   * while a visit to them is out or back safe less than `RESUME_WATCH_MINUTES` ago (the back safe
   * can still be undone): a later run erases them.
   */
  'leavers-erased': async (tx, s, c, n) => {
    const { leftBy, now } = c as LeaverCutoff;
    const { rows } = await tx.query<{ mis_id: string }>(
      `SELECT mis_id FROM pupils p WHERE school_id = $1 AND left_on <= $2::date
         AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.school_id = p.school_id AND v.pupil_mis_id = p.mis_id
                           AND v.departed_at IS NOT NULL AND (v.returned_at IS NULL OR v.returned_at > $4))
         -- Nor while an alarm on one of their visits is not resolved (its ladder still runs).
         AND NOT EXISTS (SELECT 1 FROM alarms a JOIN visits v ON v.id = a.visit_id
                         WHERE v.school_id = p.school_id AND v.pupil_mis_id = p.mis_id AND a.status <> 'resolved')
         -- Nor while a record about them has not reached its sink (reported: leaversWaitingForRecords).
         AND NOT EXISTS (${UNDELIVERED_ABOUT})
       ORDER BY mis_id LIMIT $3`,
      [s, leftBy, n, backSafeFinalBefore(now)],
    );
    for (const r of rows) await erasePupil(tx, s, r.mis_id, now);
    return rows.length;
  },
  /** Replies to an alarm SMS that matched no alarm (an unknown number, a refused reply): the alarm's go with it. */
  'orphan-sms-replies': (tx, s, c, n) =>
    count(
      tx,
      `DELETE FROM sms_replies WHERE message_sid IN (
         SELECT message_sid FROM sms_replies WHERE school_id = $1 AND alarm_id IS NULL AND received_at < $2
         ORDER BY received_at LIMIT $3)`,
      [s, c, n],
    ),
  /** The data manager's alerts, once acknowledged and past the period. */
  'acknowledged-alerts': (tx, s, c, n) =>
    count(
      tx,
      `DELETE FROM alerts WHERE id IN (
         SELECT id FROM alerts WHERE school_id = $1 AND acknowledged_at < $2 ORDER BY id LIMIT $3)`,
      [s, c, n],
    ),
  /**
   * Sign-in sessions that have run out (the whole trust's: a session belongs to no school) — by the
   * sessions' own rule, so never the phone page of a worker out on a visit (sessionExpiredSql).
   */
  'expired-sessions': (tx, _s, c, n) =>
    count(
      tx,
      `DELETE FROM sessions WHERE token_hash IN (
         SELECT token_hash FROM sessions s WHERE ${sessionExpiredSql('s', '$1')} ORDER BY expires_at LIMIT $2)`,
      [c, n],
    ),
  'audit-details': (tx, s, c, n) =>
    count(
      tx,
      `DELETE FROM audit_details WHERE audit_id IN (
         SELECT audit_id FROM audit_details WHERE school_id = $1 AND at < $2 ORDER BY audit_id LIMIT $3)`,
      [s, c, n],
    ),
  'trust-audit-details': (tx, _s, c, n) =>
    count(
      tx,
      `DELETE FROM audit_details WHERE audit_id IN (
         SELECT audit_id FROM audit_details WHERE school_id IS NULL AND at < $1 ORDER BY audit_id LIMIT $2)`,
      [c, n],
    ),
};

export type PurgeKind = keyof typeof KINDS;

const DAY = 86_400_000;

/**
 * When a held mark can never apply: `before`, the marks' cutoff (a date); or held before
 * `heldBefore` (a timestamp) with its day before `dayBefore` (a date).
 */
interface HeldCutoff {
  before: string;
  heldBefore: Date;
  dayBefore: string;
}
/**
 * When a visit is due: last changed before `before`, and — were it out — back safe at or before
 * `backSafeBefore` (`backSafeFinalBefore`: no longer to be undone).
 */
interface VisitCutoff {
  before: Date;
  backSafeBefore: Date;
}
/** When a leaver is erased: left on or before `leftBy` (a date); `now`, the run's clock, for `erasePupil`. */
interface LeaverCutoff {
  leftBy: string;
  now: Date;
}
/** A held mark whose pupil is never imported is dropped by its source's sync this long after it was held. */
const HELD_SYNC_DROP_DAYS = 30;

/** 1 September of the academic year `yearsBack` before the one `now` is in (Europe/London dates). */
export function academicYearStart(now: Date, yearsBack: number): string {
  const [y, m] = londonDate(now).split('-').map(Number) as [number, number];
  return `${(m >= 9 ? y : y - 1) - yearsBack}-09-01`;
}

/** Each kind's cutoff for a plan: a timestamp, or a date for the date-keyed kinds. */
export function cutoffs(
  plan: RetentionPlan,
): Record<PurgeKind, Date | string | HeldCutoff | VisitCutoff | LeaverCutoff> {
  const p = plan.periods;
  const ago = (days: number) => new Date(plan.now.getTime() - days * DAY);
  const dateAgo = (days: number) => londonDate(ago(days));
  return {
    'fob-events': ago(p.fobEventDays),
    'fob-locations': ago(p.fobEventDays),
    'alarm-locations': ago(p.fobEventDays),
    'rejected-events': ago(p.rejectedEventDays),
    'board-events': ago(p.boardEventDays),
    notifications: ago(p.notificationDays),
    alarms: ago(p.alarmDays),
    imports: ago(p.importDays),
    'attendance-marks': academicYearStart(plan.now, p.attendanceAcademicYears),
    'held-marks': {
      before: academicYearStart(plan.now, p.attendanceAcademicYears),
      heldBefore: ago(2 * HELD_SYNC_DROP_DAYS),
      dayBefore: dateAgo(HELD_SYNC_DROP_DAYS),
    },
    visits: { before: ago(p.visitDays), backSafeBefore: backSafeFinalBefore(plan.now) },
    'trigger-episodes': dateAgo(p.closedTriggerDays),
    'record-bodies': ago(p.deliveredRecordBodyDays),
    records: ago(p.recordDays),
    'orphan-sms-replies': ago(p.notificationDays),
    'acknowledged-alerts': ago(p.importDays),
    'expired-sessions': plan.now,
    'audit-details': ago(p.auditDetailDays),
    'trust-audit-details': ago(plan.trustAuditDetailDays),
    'leavers-hidden': dateAgo(p.leaverShownDays),
    'leavers-erased': { leftBy: dateAgo(p.leaverDataDays), now: plan.now },
  };
}

export interface PurgeResult {
  removed: Record<string, number>;
  /** False when a kind stopped at maxRowsPerRun (or the run was aborted): the next run goes on. */
  complete: boolean;
  /**
   * Leavers past the data period left for a later run: records about them not yet delivered (ids only,
   * at most 100; see `leaversWaitingForRecords`).
   */
  leaversWaiting: string[];
}

/**
 * Applies a school's retention: every kind in batches of `batchSize` rows, each batch its own short
 * transaction (so the alarm path never waits long on a purge lock), up to `maxRowsPerRun` per kind.
 */
export async function purgeSchool(db: Db, plan: RetentionPlan, signal?: AbortSignal): Promise<PurgeResult> {
  const removed: Record<string, number> = {};
  let complete = true;
  const cut = cutoffs(plan);
  for (const [kind, batch] of Object.entries(KINDS)) {
    let total = 0;
    for (;;) {
      if (signal?.aborted) return { removed, complete: false, leaversWaiting: [] };
      // Erasing a leaver touches many tables: a few per transaction.
      const size = kind === 'leavers-erased' ? Math.min(plan.batchSize, 20) : plan.batchSize;
      const limit = Math.min(size, plan.maxRowsPerRun - total);
      if (limit <= 0) {
        complete = false;
        break;
      }
      const done = await db.transaction((tx) => batch(tx, plan.schoolId, cut[kind as PurgeKind], limit));
      const n = typeof done === 'number' ? done : done.removed;
      total += n;
      if (typeof done === 'number' ? n < limit : !done.more) break;
    }
    if (total) removed[kind] = total;
  }
  const leaversWaiting = await leaversWaitingForRecords(
    db,
    plan.schoolId,
    (cut['leavers-erased'] as LeaverCutoff).leftBy,
  );
  return { removed, complete, leaversWaiting };
}
