import { type AlarmReach, reachParams, reachSchool, sentThrough } from './alarm-reach.ts';
import type { Queryable } from './db.ts';

/** The person a ladder call rang (by the call's id, its recipient's receipt), and where it stands. */
export interface CalledRecipient {
  notificationId: string;
  alarmId: string;
  step: number;
  target: string;
  recipientKey: string;
  sentAt: Date;
  keypressAt: Date | null;
}

/**
 * A call an alarm's `call:` notification placed through this school's channel; undefined for any
 * other id. Its own alarms', and those of another school it placed calls for (`sentThrough`: an alarm
 * of a school the config no longer held then, `orphansTo`), whatever the config says now.
 */
export async function calledRecipient(
  db: Queryable,
  reach: AlarmReach,
  callSid: string,
): Promise<CalledRecipient | undefined> {
  return oneCalled(
    db,
    `r.receipt = $1 AND ${sentThrough('a', 'n', reach, 2, 3)} AND n.target LIKE 'call:%' LIMIT 1`,
    [callSid, reachSchool(reach), ...reachParams(reach)],
  );
}

/**
 * The call an alarm's `call:` notification placed through this school's channel (`sentThrough`; or may have: still being asked
 * for, `PLACING`, or its answer lost, `MAY_HAVE_BEEN_SENT`) to this recipient, named by the
 * notification and recipient its signed keypress URL carries — whatever its receipt: a provider's
 * callbacks may name the call by another id than its answer did; undefined for any other.
 */
export async function placedCallRecipient(
  db: Queryable,
  reach: AlarmReach,
  notificationId: string,
  recipientKey: string,
): Promise<CalledRecipient | undefined> {
  return oneCalled(
    db,
    `r.notification_id = $1 AND r.recipient_key = $2 AND ${sentThrough('a', 'n', reach, 3, 4)} AND n.target LIKE 'call:%'`,
    [notificationId, recipientKey, reachSchool(reach), ...reachParams(reach)],
  );
}

/** The first called recipient `where` (over `r` recipients, `n` notifications, `a` alarms) finds. */
async function oneCalled(
  db: Queryable,
  where: string,
  params: unknown[],
): Promise<CalledRecipient | undefined> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT r.notification_id, n.alarm_id, n.step, n.target, r.recipient_key, r.sent_at, r.keypress_at
     FROM notification_recipients r JOIN notifications n ON n.id = r.notification_id
       JOIN alarms a ON a.id = n.alarm_id
     WHERE ${where}`,
    params,
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    notificationId: String(r.notification_id),
    alarmId: String(r.alarm_id),
    step: r.step as number,
    target: r.target as string,
    recipientKey: r.recipient_key as string,
    sentAt: new Date(r.sent_at as string),
    keypressAt: r.keypress_at ? new Date(r.keypress_at as string) : null,
  };
}

/** The callee pressed 1: kept once; false when it was kept before (a replayed callback). */
export async function recordKeypress(
  tx: Queryable,
  notificationId: string,
  recipientKey: string,
  at: Date,
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE notification_recipients SET keypress_at = $3
     WHERE notification_id = $1 AND recipient_key = $2 AND keypress_at IS NULL`,
    [notificationId, recipientKey, at],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Whether the call with this provider id (a ladder call's receipt, placed through the school's
 * channel: `sentThrough`) was answered with a
 * keypress: a call completed with none reached no one who took the alarm (a voicemail answers too).
 */
export async function callKeyed(db: Queryable, reach: AlarmReach, callSid: string): Promise<boolean> {
  const { rows } = await db.query<{ keyed: boolean }>(
    `SELECT r.keypress_at IS NOT NULL AS keyed FROM notification_recipients r
       JOIN notifications n ON n.id = r.notification_id JOIN alarms a ON a.id = n.alarm_id
     WHERE r.receipt = $1 AND ${sentThrough('a', 'n', reach, 2, 3)} LIMIT 1`,
    [callSid, reachSchool(reach), ...reachParams(reach)],
  );
  return rows[0]?.keyed === true;
}
