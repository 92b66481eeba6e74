import { createHmac } from 'node:crypto';
import { type AlarmReach, reachParams, reachSchool, sentThrough } from './alarm-reach.ts';
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
 * The alarms that a text message went to through a school's channel, not resolved or resolved since
 * `resolvedSince` (candidates for a reply: a late reply to an alarm closed meanwhile is a right code,
 * not a guess): the school's own, and another school's its channel texted (`sentThrough`: an alarm of
 * a school the config no longer held then, `orphansTo`) — whatever the config says now: the replies
 * come to its number, with codes of its token.
 */
export async function alarmsTextedAbout(db: Queryable, reach: AlarmReach, resolvedSince: Date) {
  const recent = (t: string) => `(${t}status <> 'resolved' OR ${t}resolved_at >= $2)`;
  // Where to look: the school's own alarms (by its index), those its channel sent for (by the few
  // notifications that name it), and — for what was sent before migration 079, on the `orphansTo`
  // school's number only — those of the schools the config no longer holds; each then as `sentThrough`.
  const before079 = reachParams(reach).length
    ? `UNION SELECT id FROM alarms WHERE school_id <> ALL($3::text[]) AND ${recent('')}`
    : '';
  const { rows } = await db.query<{ id: string; status: string; acknowledged_by: string | null }>(
    `SELECT a.id, a.status, a.acknowledged_by FROM alarms a
     WHERE a.id IN (SELECT id FROM alarms WHERE school_id = $1 AND ${recent('')}
                    UNION SELECT alarm_id FROM notifications WHERE via_schools <> '{}' AND $1 = ANY(via_schools)
                    ${before079})
       AND ${recent('a.')}
       AND EXISTS (SELECT 1 FROM notifications n WHERE n.alarm_id = a.id AND n.target LIKE 'sms:%'
                     AND ${sentThrough('a', 'n', reach, 1, 3)})
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
