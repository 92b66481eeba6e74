import { createHmac } from 'node:crypto';
import { type AlarmReach, reachParams, reachSchool, withinReach } from './alarm-reach.ts';
import type { Queryable } from './db.ts';

/**
 * A phone number kept only as an HMAC keyed by a secret the store does not hold (the school's SMS
 * auth token, from the environment) over the school and the number: what the audit and the table
 * hold. Without the key no one can recover a number by hashing every number there is.
 */
export function senderHash(key: string, schoolId: string, phone: string): string {
  return createHmac('sha256', key).update(`${schoolId}\n${phone}`).digest('base64url').slice(0, 22);
}

/**
 * Records one provider message; false when that message was seen before (a replay changes nothing).
 */
export async function recordSmsReply(
  tx: Queryable,
  r: {
    messageSid: string;
    schoolId: string;
    at: Date;
    senderHash: string;
    outcome: string;
    alarmId: string | null;
    userId: string | null;
  },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO sms_replies (message_sid, school_id, received_at, sender_hash, outcome, alarm_id, user_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_sid) DO NOTHING`,
    [r.messageSid, r.schoolId, r.at, r.senderHash, r.outcome, r.alarmId, r.userId],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * A school's alarms that a text message went to, not resolved or resolved since `resolvedSince`
 * (candidates for a reply: a late reply to an alarm closed meanwhile is a right code, not a guess).
 * The `orphansTo` school's reach also holds those of the schools the config no longer holds: their
 * texts went out through its channel, and the replies come to its number (`AlarmReach`).
 */
export async function alarmsTextedAbout(db: Queryable, reach: AlarmReach, resolvedSince: Date) {
  const { rows } = await db.query<{ id: string; status: string; acknowledged_by: string | null }>(
    `SELECT a.id, a.status, a.acknowledged_by FROM alarms a
     WHERE ${withinReach('a', reach, 1, 3)} AND (a.status <> 'resolved' OR a.resolved_at >= $2)
       AND EXISTS (SELECT 1 FROM notifications n WHERE n.alarm_id = a.id AND n.target LIKE 'sms:%')
     ORDER BY a.id`,
    [reachSchool(reach), resolvedSince, ...reachParams(reach)],
  );
  return rows.map((r) => ({
    id: String(r.id),
    status: r.status,
    /** Who has it taken (`user:<id>`, …), while it is acknowledged. */
    acknowledgedBy: r.acknowledged_by,
  }));
}

/** What a reply did, once acted on. */
export async function setSmsReplyOutcome(db: Queryable, messageSid: string, outcome: string): Promise<void> {
  await db.query('UPDATE sms_replies SET outcome = $2 WHERE message_sid = $1', [messageSid, outcome]);
}

/**
 * How many replies since `since` gave a code no open alarm has: from this school, and from this
 * sender (its keyed hash) there.
 */
export async function wrongCodesSince(
  db: Queryable,
  schoolId: string,
  senderHash: string,
  since: Date,
): Promise<{ school: number; sender: number }> {
  const { rows } = await db.query<{ school: number; sender: number }>(
    `SELECT count(*)::int AS school, (count(*) FILTER (WHERE sender_hash = $2))::int AS sender FROM sms_replies
      WHERE school_id = $1 AND outcome = 'no-such-alarm' AND received_at >= $3`,
    [schoolId, senderHash, since],
  );
  return rows[0] ?? { school: 0, sender: 0 };
}

/**
 * Holds, until the transaction ends, the school's SMS-reply lock: the wrong-code count, the judging of
 * a code and the recording of the reply run one reply at a time per school, so replies that arrive
 * together (a burst of guesses) are each counted before the next is judged. A transaction-scoped
 * advisory lock: nothing to clean up, released on commit or rollback.
 */
export async function lockSmsRepliesOf(tx: Queryable, schoolId: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('doorstep:sms-reply:' || $1))`, [schoolId]);
}
