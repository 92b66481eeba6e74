import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { alarmReach } from '../config/school-of.ts';
import { parseSmsReply, smsReplyCode } from '../notify/sms-reply.ts';
import { type AlarmReach, reachSchool } from '../store/alarm-reach.ts';
import { appendAudit } from '../store/audit.ts';
import type { BoardTell } from '../store/board.ts';
import type { Db, Queryable } from '../store/db.ts';
import {
  alarmsTextedAbout,
  lockSmsRepliesOf,
  recordSmsReply,
  senderHash,
  setSmsReplyOutcome,
  wrongCodesSince,
} from '../store/sms-replies.ts';
import type { User } from '../store/users.ts';
import { resolveAlarm } from './commands.ts';
import { mayAnswerFromPhone, personOfPhone, phoneAnswerRefusal, takeAlarmFromPhone } from './phone-person.ts';

export interface InboundSms {
  messageSid: string;
  from: string;
  body: string;
}

export type SmsReplyOutcome =
  | 'taken'
  | 'already-taken'
  | 'safe'
  | 'already-resolved'
  | 'replay'
  | 'unknown-number'
  | 'not-understood'
  | 'no-such-alarm'
  | 'ambiguous-code'
  | 'too-many-wrong-codes'
  | 'not-your-school'
  | 'shared-number'
  | 'not-allowed'
  | 'own-alarm'
  | 'take-first';

/**
 * A code is four digits: a sender whose replies gave this many codes no open alarm has within the
 * window is not heard for the rest of it, nor is anyone at a school whose replies gave
 * `MAX_WRONG_CODES_PER_SCHOOL` (a sender number can be spoofed, and there are many staff numbers:
 * guessing a code to close an alarm as "worker safe" must not be a matter of sending enough texts).
 * The alarm stays open either way; people use the board.
 */
export const MAX_WRONG_CODES = 5;
export const MAX_WRONG_CODES_PER_SCHOOL = 20;
export const WRONG_CODES_WINDOW_MS = 60 * 60_000;
/** How long after its alarm is resolved a code is still known: a reply with it is answered "already closed". */
export const RESOLVED_CODES_KNOWN_MS = 24 * 3600_000;

/**
 * A reply to an alarm SMS, verified by the route: the sender must be the phone of an enabled account
 * (the reply acts as that person, within their schools) holding the roles the board requires to take
 * or close an alarm (office or safeguarding; admin implied), and the code must be one of the school's
 * alarms a text went to (on the `orphansTo` school's number, also one of a school the config no longer
 * holds: its texts went out through that school's channel) and that is not resolved (one resolved in the last day is answered "already
 * closed" and is no wrong code; a code more than one of those alarms has acts on none and is no wrong
 * code either) — and not an alarm about that person (its wearer, or someone on its
 * visit). "1" takes the alarm (as on the board, marked as by SMS), "2" resolves it
 * as the worker safe (spoken to) — only from the person who took it: from anyone else it is refused
 * ("take it first", or already taken by someone else). Each provider message counts once; every reply, refused or not, is
 * audited without the number (a keyed hash of it is kept). After `MAX_WRONG_CODES` wrong codes in an
 * hour a sender's codes are not acted on until the hour is past (`MAX_WRONG_CODES_PER_SCHOOL` for a
 * school): the count, the judging of the code and the recording of the reply run under the school's
 * lock, one reply at a time, so replies sent together are bounded exactly as replies sent one by one.
 */
export async function handleSmsReply(
  deps: { db: Db; config: DoorstepConfig; tell?: BoardTell },
  school: SchoolConfig,
  sms: InboundSms,
  now: Date,
): Promise<{ outcome: SmsReplyOutcome; alarmId: string | null; answer: string }> {
  const token = school.channels.sms!.authToken.reveal();
  const reply = parseSmsReply(sms.body);
  const person = await personOfPhone(deps.db, school, sms.from);
  const user = typeof person === 'string' ? undefined : person.user;
  const sender = senderHash(token, school.id, sms.from);
  let asked: SmsReplyOutcome | null = null;
  if (typeof person === 'string') asked = person;
  else if (!reply) asked = 'not-understood';
  // Not the board's roles: no code is judged at all.
  else if (!mayAnswerFromPhone(person.user)) asked = 'not-allowed';
  // Judge the code and count the message once, before acting, in one transaction under the school's
  // lock: a replay (or a retry by the provider) does nothing, and a burst of guesses is counted one by one.
  const judged = await deps.db.transaction(async (tx) => {
    let j: { outcome: SmsReplyOutcome; alarmId: string | null } = {
      outcome: asked ?? 'no-such-alarm',
      alarmId: null,
    };
    if (asked === null && user && reply) {
      await lockSmsRepliesOf(tx, school.id);
      j = await judgeCode(tx, alarmReach(deps.config, school.id), token, sender, reply, user, now);
    }
    const acting = j.alarmId !== null && (j.outcome === 'taken' || j.outcome === 'safe');
    const fresh = await recordSmsReply(tx, {
      messageSid: sms.messageSid,
      schoolId: school.id,
      at: now,
      senderHash: sender,
      outcome: acting ? `${reply!.action}:pending` : j.outcome,
      alarmId: j.alarmId,
      userId: user?.id ?? null,
    });
    await appendAudit(tx, {
      actor: user ? `user:${user.id}` : 'system:sms-reply',
      action: fresh ? 'alarm.sms-reply' : 'alarm.sms-reply-replayed',
      schoolId: school.id,
      entityType: 'alarm',
      entityId: j.alarmId ?? '',
      after: { outcome: fresh ? (acting ? reply!.action : j.outcome) : 'replay', sender },
    });
    return { ...j, fresh, acting };
  });
  let outcome = judged.outcome;
  const { alarmId, fresh: first } = judged;
  if (!first) return { outcome: 'replay', alarmId, answer: '' };
  if (alarmId && user && reply && judged.acting) {
    if (reply.action === 'take') {
      outcome = await takeAlarmFromPhone(deps, alarmId, user, 'sms', now);
    } else {
      // Judged above as this person's to close, but the hold can lapse (reopened) or pass to someone
      // else before this runs: the resolve checks it again under the alarm's lock, and closes nothing
      // for a sender who no longer holds it.
      const by = `user:${user.id}`;
      const r = await resolveAlarm(
        deps.db,
        deps.config,
        alarmId,
        by,
        'worker_safe_contacted',
        'by SMS reply',
        now,
        deps.tell,
        { onlyIfAcknowledgedBy: by },
      );
      outcome =
        r === 'resolved'
          ? 'safe'
          : r === 'taken-by-another'
            ? 'already-taken'
            : r === 'not-taken'
              ? 'take-first'
              : 'already-resolved';
    }
    await setSmsReplyOutcome(deps.db, sms.messageSid, outcome);
  }
  return { outcome, alarmId, answer: ANSWERS[outcome](alarmId, reply?.code ?? '') };
}

/**
 * A code reply judged, under the school's lock (`lockSmsRepliesOf`): too many wrong codes already;
 * the code of an alarm resolved in the last day (already closed, not a wrong code); no open alarm
 * with that code (a wrong code, counted once recorded); the code of more than one alarm, open or
 * resolved in the last day (ambiguous: nothing acted on, not a wrong code); an alarm about the
 * sender; or the alarm it takes or closes (acted on after the commit).
 */
async function judgeCode(
  tx: Queryable,
  reach: AlarmReach,
  token: string,
  sender: string,
  reply: { action: 'take' | 'safe'; code: string },
  user: { id: string; roles: User['roles']; staffId: string | null },
  now: Date,
): Promise<{ outcome: SmsReplyOutcome; alarmId: string | null }> {
  if (await tooManyWrongCodes(tx, reachSchool(reach), sender, now))
    return { outcome: 'too-many-wrong-codes', alarmId: null };
  // The school's alarms texted about — and on the `orphansTo` school's number, those of the schools
  // the config no longer holds, whose texts (and codes) went out through its channel.
  const matches = (
    await alarmsTextedAbout(tx, reach, new Date(now.getTime() - RESOLVED_CODES_KNOWN_MS))
  ).filter((a) => smsReplyCode(token, a.id) === reply.code);
  const open = matches.filter((a) => a.status !== 'resolved');
  // The code of an alarm closed meanwhile (a late reply after a false alarm): told so, never counted
  // as a wrong code — else genuine late replies would lock the school's replies out.
  if (open.length === 0 && matches.length > 0)
    return { outcome: 'already-resolved', alarmId: matches.length === 1 ? matches[0]!.id : null };
  if (open.length === 0) return { outcome: 'no-such-alarm', alarmId: null };
  // A code is four digits, so two alarms can share one (1 in 10,000 a pair): which one the sender
  // meant cannot be told — an open one, or one closed in the last day whose late reply must not take
  // a real alarm. Nothing is acted on, and it is a right code, never counted as a wrong one.
  if (matches.length > 1) return { outcome: 'ambiguous-code', alarmId: null };
  const alarm = open[0]!;
  const alarmId = alarm.id;
  const refused = await phoneAnswerRefusal(tx, user, alarmId);
  if (refused) return { outcome: refused, alarmId };
  if (reply.action === 'take') return { outcome: 'taken', alarmId };
  // "Worker safe" closes the alarm for good, and 2 is next to 1 on a keypad: only from the person who
  // has taken it (and so spoken to the worker), never from anyone texted about an alarm no one holds.
  if (alarm.status === 'acknowledged' && alarm.acknowledgedBy === `user:${user.id}`)
    return { outcome: 'safe', alarmId };
  return { outcome: alarm.status === 'acknowledged' ? 'already-taken' : 'take-first', alarmId };
}

async function tooManyWrongCodes(
  db: Queryable,
  schoolId: string,
  sender: string,
  now: Date,
): Promise<boolean> {
  const wrong = await wrongCodesSince(db, schoolId, sender, new Date(now.getTime() - WRONG_CODES_WINDOW_MS));
  return wrong.sender >= MAX_WRONG_CODES || wrong.school >= MAX_WRONG_CODES_PER_SCHOOL;
}

const ANSWERS: Record<SmsReplyOutcome, (id: string | null, code: string) => string> = {
  taken: (id) =>
    `Doorstep: alarm #${id} is yours. Call the worker now; reply 2 with the code when they are safe.`,
  'already-taken': (id) => `Doorstep: alarm #${id} was already taken by someone else.`,
  safe: (id) => `Doorstep: alarm #${id} closed: the worker is safe. Thank you.`,
  'already-resolved': (id) => `Doorstep: ${id ? `alarm #${id}` : 'that alarm'} is already closed.`,
  replay: () => '',
  'unknown-number': () => 'Doorstep: this number is not on a Doorstep account; use the board.',
  'not-your-school': () => 'Doorstep: this alarm is not at your school.',
  'shared-number': () =>
    'Doorstep: this number is on more than one account at the school, so who replied cannot be told; use the board.',
  'not-understood': () =>
    'Doorstep: reply 1 and the code to take the alarm, or 2 and the code when the worker is safe.',
  'no-such-alarm': () => 'Doorstep: no open alarm has that code; use the board.',
  'ambiguous-code': () =>
    'Doorstep: more than one alarm has that code, so nothing was done; use the board, or phone the office.',
  'too-many-wrong-codes': () =>
    'Doorstep: too many wrong codes in the last hour; replies are not acted on for now. Use the board.',
  'not-allowed': () =>
    'Doorstep: your account cannot take or close alarms (office or safeguarding staff only); use the board or call the office.',
  'take-first': (id, code) =>
    `Doorstep: alarm #${id} is not yours to close: take it first, reply 1 ${code}, then 2 ${code} once you have spoken to the worker.`,
  'own-alarm': (id) =>
    `Doorstep: alarm #${id} is about you, so it cannot be taken or closed from your phone; the office will contact you.`,
};
