import { MAY_HAVE_BEEN_SENT } from '../domain/escalation/delivery.ts';
import { phoneKey } from '../domain/phone-key.ts';
import { PLACING, PLACING_LEFT_MS } from '../domain/recipient-placing.ts';
import { type AlarmReach, reachParams, reachSchool, sentThrough } from './alarm-reach.ts';
import type { Db, Queryable } from './db.ts';
import { worksAt } from './users.ts';

/**
 * Receipts of the recipients a notification has already reached (or is reaching: `PLACING`), by
 * recipient key. One left `PLACING` past `PLACING_LEFT_MS` (its try stopped without a word) reads as
 * `MAY_HAVE_BEEN_SENT`.
 */
export async function recipientReceipts(db: Db, notificationId: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ recipient_key: string; receipt: string }>(
    `SELECT recipient_key,
            CASE WHEN receipt = $2 AND sent_at < now() - $3 * interval '1 millisecond' THEN $4
                 ELSE receipt END AS receipt
     FROM notification_recipients WHERE notification_id = $1`,
    [notificationId, PLACING, PLACING_LEFT_MS, MAY_HAVE_BEEN_SENT],
  );
  return new Map(rows.map((r) => [r.recipient_key, r.receipt]));
}

/**
 * One recipient reached (kept before the next is tried, so a retry never sends to them again): its
 * receipt replaces a `PLACING` one (the provider's answer, or "may have been sent"), never another.
 */
export async function recordRecipientReceipt(
  db: Db,
  notificationId: string,
  recipientKey: string,
  receipt: string,
): Promise<void> {
  await db.query(
    `INSERT INTO notification_recipients (notification_id, recipient_key, receipt) VALUES ($1, $2, $3)
     ON CONFLICT (notification_id, recipient_key) DO UPDATE SET receipt = EXCLUDED.receipt
       WHERE notification_recipients.receipt = $4`,
    [notificationId, recipientKey, receipt, PLACING],
  );
}

/**
 * A recipient about to be asked of the provider, kept as `PLACING` before the request goes (its
 * `sent_at` the time it was asked); false when the recipient has a row already (another try got
 * there first).
 */
export async function recordRecipientPlacing(
  db: Db,
  notificationId: string,
  recipientKey: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO notification_recipients (notification_id, recipient_key, receipt) VALUES ($1, $2, $3)
     ON CONFLICT (notification_id, recipient_key) DO NOTHING`,
    [notificationId, recipientKey, PLACING],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * A `PLACING` recipient whose request is known never to have been made: removed, so a retry sends it.
 * Never one whose call was answered with a keypress (`keypress_at`): that call was made, whatever its
 * caller was told — removed, its keypress would be lost, the call's later callbacks matched to
 * nothing ("not known"), and the phone rung again by the retry. Held here, whoever asks.
 */
export async function forgetRecipientPlacing(
  db: Db,
  notificationId: string,
  recipientKey: string,
): Promise<void> {
  await db.query(
    `DELETE FROM notification_recipients
     WHERE notification_id = $1 AND recipient_key = $2 AND receipt = $3 AND keypress_at IS NULL`,
    [notificationId, recipientKey, PLACING],
  );
}

/** A notification that will not be sent (a permanent or configuration failure): failed now. */
export async function failPendingNotification(db: Db, notificationId: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE notifications SET status = 'failed', last_error = $2 WHERE id = $1 AND status = 'pending'`,
    [notificationId, reason],
  );
}

/**
 * Alarm notifications still unsent `graceMs` after they were made, held by no escalation step, on
 * alarms not resolved: their job may have run out of tries (the database or Redis away longer than
 * its retries) or been lost. Oldest first, at most `limit`.
 */
export async function strandedNotifications(
  db: Queryable,
  now: Date,
  graceMs: number,
  limit = 200,
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT n.id FROM notifications n JOIN alarms a ON a.id = n.alarm_id
      WHERE n.status = 'pending' AND a.status <> 'resolved'
        AND n.created_at < $1::timestamptz - make_interval(secs => $2::float8 / 1000)
        AND (n.claimed_until IS NULL OR n.claimed_until < $1::timestamptz)
      ORDER BY n.created_at LIMIT $3`,
    [now, graceMs, limit],
  );
  return rows.map((r) => String(r.id));
}

/**
 * A pending notification withdrawn, never to be sent: its alarm was taken (on a ladder that stops
 * when taken) or resolved first. Returns whether it was still pending.
 */
export async function withdrawNotification(db: Queryable, id: string, why: string): Promise<boolean> {
  const r = await db.query(
    // Never one its escalation step is sending now (claimed): that send's outcome is recorded as it is.
    `UPDATE notifications SET status = 'withdrawn', last_error = $2, claimed_until = NULL
     WHERE id = $1 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until <= now())`,
    [id, why],
  );
  return r.rowCount > 0;
}

/** The board channel's connection test: its events table can be read. */
export async function probeBoardEvents(db: Db): Promise<void> {
  await db.query('SELECT 1 FROM board_events LIMIT 1');
}

/** A notification with what its channel needs to know of its alarm. */
export interface NotificationToSend {
  id: string;
  alarmId: string;
  schoolId: string;
  step: number;
  target: string;
  status: string;
  /** Its alarm's state now: a retry of a notification whose alarm was taken or resolved is withdrawn. */
  alarmStatus: 'open' | 'acknowledged' | 'resolved';
  alarmType: string;
  deviceId: string | null;
  staffId: string | null;
  visitId: string | null;
  /** A TEST alarm (a fob drill): every message says so. */
  test: boolean;
  /** The alarm's ladder as it was when raised (null for none). */
  policy: unknown;
  /** How much longer its escalation step holds it (0 when unclaimed). */
  claimedMs: number;
}

export async function notificationToSend(db: Db, id: string): Promise<NotificationToSend | null> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT n.id, n.alarm_id, n.step, n.target, n.status, a.status AS alarm_status, a.school_id, a.type, a.device_id,
            a.staff_id, a.visit_id, a.policy, a.test,
            ceil(GREATEST(0, EXTRACT(EPOCH FROM n.claimed_until - now()) * 1000))::int AS claimed_ms
     FROM notifications n JOIN alarms a ON a.id = n.alarm_id WHERE n.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: String(r.id),
    alarmId: String(r.alarm_id),
    schoolId: r.school_id as string,
    step: r.step as number,
    target: r.target as string,
    status: r.status as string,
    alarmStatus: r.alarm_status as 'open' | 'acknowledged' | 'resolved',
    alarmType: r.type as string,
    deviceId: (r.device_id as string | null) ?? null,
    staffId: (r.staff_id as string | null) ?? null,
    visitId: r.visit_id === null ? null : String(r.visit_id),
    test: r.test === true,
    policy: r.policy ?? null,
    claimedMs: Number(r.claimed_ms ?? 0),
  };
}

/** The notifications of one escalation step, and where the alarm's ladder stands (a step's retry). */
export async function stepNotifications(
  db: Db,
  alarmId: string,
  step: number,
): Promise<{
  notifications: { id: string; status: string }[];
  escalationStep: number;
  nextStepAt: Date | null;
}> {
  const { rows } = await db.query<{
    id: string;
    status: string;
    escalation_step: number;
    next_step_at: Date | null;
  }>(
    `SELECT n.id, n.status, a.escalation_step, a.next_step_at FROM notifications n JOIN alarms a ON a.id = n.alarm_id
     WHERE n.alarm_id = $1 AND n.step = $2`,
    [alarmId, step],
  );
  return {
    notifications: rows.map((r) => ({ id: String(r.id), status: r.status })),
    escalationStep: rows[0]?.escalation_step ?? -1,
    nextStepAt: rows[0]?.next_step_at ? new Date(rows[0].next_step_at) : null,
  };
}

/** A notification sent: its receipt kept (only while it was pending: a late duplicate changes nothing). */
export async function markNotificationSent(db: Db, id: string, receipt: string): Promise<void> {
  await db.query(
    `UPDATE notifications SET status = 'sent', attempts = attempts + 1, receipt = $2, sent_at = now() WHERE id = $1 AND status = 'pending'`,
    [id, receipt],
  );
}

/**
 * The notification is being sent through another school's channels than its alarm's (an alarm of a
 * school the config no longer holds: `trust.orphansTo`'s), kept before the send — a provider's answers
 * (a reply, a keypress, a delivery report) can come back before the send returns — so they find it on
 * that school's routes whatever the config says by then (`sentThrough`). Each school once.
 */
export async function markNotificationVia(db: Queryable, id: string, schoolId: string): Promise<void> {
  await db.query(
    'UPDATE notifications SET via_schools = array_append(via_schools, $2) WHERE id = $1 AND NOT ($2 = ANY(via_schools))',
    [id, schoolId],
  );
}

/** An attempt failed: its error kept and its claim released; `failed` on the last try, else pending. */
export async function markNotificationAttemptFailed(
  db: Db,
  id: string,
  error: string,
  last: boolean,
): Promise<void> {
  await db.query(
    // Only a pending one: never a message withdrawn meanwhile (or sent by another try) made pending again.
    `UPDATE notifications SET status = $3, attempts = attempts + 1, last_error = $2, claimed_until = NULL
     WHERE id = $1 AND status = 'pending'`,
    [id, error, last ? 'failed' : 'pending'],
  );
}

/**
 * The phone numbers and addresses of the people on a visit (lead and partner, and the number the
 * lead gave when leaving — the phone they carry, often the school's, which their account may not
 * have), or of a device's wearer. Each number once, however it is written.
 */
export async function visitingStaffContacts(
  db: Db,
  by: { visitId: string } | { schoolId: string; staffId: string },
): Promise<{ phone: string | undefined; email: string | undefined }[]> {
  const { rows } = await db.query<{ phone: string | null; email: string | null }>(
    'visitId' in by
      ? `SELECT v.worker_phone AS phone, NULL AS email FROM visits v WHERE v.id = $1 AND v.worker_phone IS NOT NULL
         UNION ALL
         SELECT u.phone, u.email FROM visits v JOIN users u ON u.id IN (v.lead_user_id, v.partner_user_id) WHERE v.id = $1`
      : `SELECT phone, email FROM users u WHERE staff_id = $2 AND ${worksAt('u', '$1')}`,
    'visitId' in by ? [by.visitId] : [by.schoolId, by.staffId],
  );
  const seen = new Set<string>();
  return rows
    .map((r) => {
      const key = r.phone ? phoneKey(r.phone) : null;
      const phone = r.phone && key !== null && !seen.has(key) ? r.phone : undefined;
      if (key !== null) seen.add(key);
      return { phone, email: r.email ?? undefined };
    })
    .filter((c) => c.phone !== undefined || c.email !== undefined);
}

/**
 * The family a visit is announced to: the pupil's first contact with a phone number, those with
 * parental responsibility first, then those the MIS says nothing of, by its priority — one text per
 * family, not per contact. Never a contact the MIS records as having no parental responsibility (a
 * relative the child does not live with is not told of a school's visit): with no one else, no one.
 */
export async function familyContactOfVisit(
  db: Db,
  visitId: string,
): Promise<{ phone: string | undefined; email: string | undefined }[]> {
  const { rows } = await db.query<{ phone: string; email: string | null }>(
    `SELECT c.phone, c.email FROM visits v
       JOIN pupil_contacts c ON c.school_id = v.school_id AND c.pupil_mis_id = v.pupil_mis_id
     WHERE v.id = $1 AND c.phone IS NOT NULL AND c.phone <> '' AND c.parental_responsibility IS NOT FALSE
     ORDER BY c.parental_responsibility IS NOT TRUE, c.priority LIMIT 1`,
    [visitId],
  );
  return rows.map((r) => ({ phone: r.phone, email: r.email ?? undefined }));
}

/** A provider's final word on one message it was given (its status callback). */
export type DeliveryReport = 'delivered' | 'undelivered' | 'failed';

/** The notification a provider's message belonged to, and where its alarm stands. */
export interface ReportedNotification {
  notificationId: string;
  alarmId: string;
  schoolId: string;
  step: number;
  target: string;
  /** False when this message had already been reported (a replay or a late duplicate): nothing more to do. */
  fresh: boolean;
}

/**
 * Keeps what the provider reported of one message (by its id, the recipient's receipt): the first
 * final report counts, a later one changes nothing. Undefined when no alarm notification sent it
 * through the school's channels (a notice's text, another system's message, a made-up id, another
 * school's): its own alarms', and those of another school it sent for (`sentThrough`: an alarm of a
 * school the config no longer held then, `orphansTo`), whatever the config says now.
 */
export async function recordDeliveryReport(
  db: Queryable,
  o: { school: AlarmReach; messageId: string; report: DeliveryReport; error: string | null; at: Date },
): Promise<ReportedNotification | undefined> {
  const { rows } = await db.query<{
    notification_id: string;
    alarm_id: string;
    school_id: string;
    step: number;
    target: string;
    fresh: boolean;
  }>(
    `WITH hit AS (
       SELECT r.notification_id, r.recipient_key FROM notification_recipients r
         JOIN notifications n ON n.id = r.notification_id JOIN alarms a ON a.id = n.alarm_id
       WHERE r.receipt = $1 AND ${sentThrough('a', 'n', o.school, 2, 6)} LIMIT 1),
     marked AS (
       UPDATE notification_recipients r SET delivery = $3, delivery_error = $4, delivery_at = $5
       FROM hit WHERE r.notification_id = hit.notification_id AND r.recipient_key = hit.recipient_key
         AND r.delivery IS NULL
       RETURNING r.notification_id)
     SELECT n.id AS notification_id, n.alarm_id, a.school_id, n.step, n.target,
            EXISTS (SELECT 1 FROM marked) AS fresh
     FROM hit JOIN notifications n ON n.id = hit.notification_id JOIN alarms a ON a.id = n.alarm_id`,
    [o.messageId, reachSchool(o.school), o.report, o.error, o.at, ...reachParams(o.school)],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    notificationId: String(r.notification_id),
    alarmId: String(r.alarm_id),
    schoolId: r.school_id,
    step: r.step,
    target: r.target,
    fresh: r.fresh,
  };
}

/** How far a notification got: its send status and what the provider reported of its messages. */
export interface NotificationDelivery {
  id: string;
  alarmId: string;
  step: number;
  target: string;
  /** pending, sent or failed (the send itself). */
  status: string;
  at: Date;
  error: string | null;
  /** Provider reports of its messages (SMS): how many delivered, how many not, how many not yet reported. */
  delivered: number;
  undelivered: number;
  unreported: number;
  /** The provider's error codes of the undelivered messages. */
  deliveryErrors: string[];
}

/** Every notification of these alarms with its delivery, in the order they were made. */
export async function notificationDeliveries(
  db: Queryable,
  alarmIds: readonly string[],
): Promise<NotificationDelivery[]> {
  if (alarmIds.length === 0) return [];
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT n.id, n.alarm_id, n.step, n.target, n.status, n.created_at, n.sent_at, n.last_error,
            count(r.*) FILTER (WHERE r.delivery = 'delivered')::int AS delivered,
            count(r.*) FILTER (WHERE r.delivery IN ('undelivered', 'failed'))::int AS undelivered,
            count(r.*) FILTER (WHERE r.delivery IS NULL AND r.receipt NOT IN ($2, $3))::int AS unreported,
            COALESCE(array_agg(DISTINCT r.delivery || COALESCE(' ' || r.delivery_error, ''))
              FILTER (WHERE r.delivery IN ('undelivered', 'failed')), '{}') AS delivery_errors
     FROM notifications n LEFT JOIN notification_recipients r ON r.notification_id = n.id
     WHERE n.alarm_id = ANY($1::bigint[])
     GROUP BY n.id ORDER BY n.created_at, n.id`,
    // A recipient whose text or call may have been sent (no answer), or is being asked for, is no
    // message known sent.
    [alarmIds, MAY_HAVE_BEEN_SENT, PLACING],
  );
  return rows.map((r) => ({
    id: String(r.id),
    alarmId: String(r.alarm_id),
    step: r.step as number,
    target: r.target as string,
    status: r.status as string,
    at: new Date((r.sent_at ?? r.created_at) as string),
    error: (r.last_error as string | null) ?? null,
    delivered: r.delivered as number,
    undelivered: r.undelivered as number,
    unreported: r.unreported as number,
    deliveryErrors: r.delivery_errors as string[],
  }));
}
