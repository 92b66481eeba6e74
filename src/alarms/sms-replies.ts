import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { parseSmsReply, smsReplyCode } from '../notify/sms-reply.ts';
import { appendAudit } from '../store/audit.ts';
import type { BoardTell } from '../store/board.ts';
import type { Db } from '../store/db.ts';
import {
  alarmsTextedAbout,
  recordSmsReply,
  senderHash,
  setSmsReplyOutcome,
  wrongCodesSince,
} from '../store/sms-replies.ts';
import { resolveAlarm } from './commands.ts';
import { personOfPhone, takeAlarmFromPhone } from './phone-person.ts';

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
  | 'too-many-wrong-codes'
  | 'not-your-school';

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

/**
 * A reply to an alarm SMS, verified by the route: the sender must be the phone of an enabled account
 * (the reply acts as that person, within their schools), the code must be one of the school's
 * alarms a text went to and that is not resolved. "1" takes the alarm (as on the board, marked as by
 * SMS), "2" resolves it as the worker safe (spoken to). Each provider message counts once; every
 * reply, refused or not, is audited without the number (a keyed hash of it is kept). After
 * `MAX_WRONG_CODES` wrong codes in an hour a sender's codes are not acted on until the hour is past.
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
  let outcome: SmsReplyOutcome;
  let alarmId: string | null = null;
  if (typeof person === 'string') outcome = person;
  else if (!reply) outcome = 'not-understood';
  else if (await tooManyWrongCodes(deps.db, school.id, senderHash(school.id, sms.from), now))
    outcome = 'too-many-wrong-codes';
  else {
    const matches = (await alarmsTextedAbout(deps.db, school.id)).filter(
      (a) => smsReplyCode(token, a.id) === reply.code,
    );
    if (matches.length !== 1) outcome = 'no-such-alarm';
    else {
      alarmId = matches[0]!.id;
      outcome = reply.action === 'take' ? 'taken' : 'safe'; // settled below, once acted on
    }
  }
  // Count the message once before acting, so a replay (or a retry by the provider) does nothing.
  const first = await deps.db.transaction(async (tx) => {
    const fresh = await recordSmsReply(tx, {
      messageSid: sms.messageSid,
      schoolId: school.id,
      at: now,
      senderHash: senderHash(school.id, sms.from),
      outcome: alarmId ? `${reply!.action}:pending` : outcome,
      alarmId,
      userId: user?.id ?? null,
    });
    await appendAudit(tx, {
      actor: user ? `user:${user.id}` : 'system:sms-reply',
      action: fresh ? 'alarm.sms-reply' : 'alarm.sms-reply-replayed',
      schoolId: school.id,
      entityType: 'alarm',
      entityId: alarmId ?? '',
      after: {
        outcome: fresh ? (alarmId ? reply!.action : outcome) : 'replay',
        sender: senderHash(school.id, sms.from),
      },
    });
    return fresh;
  });
  if (!first) return { outcome: 'replay', alarmId, answer: '' };
  if (alarmId && user && reply) {
    if (reply.action === 'take') {
      outcome = await takeAlarmFromPhone(deps, alarmId, user, 'sms', now);
    } else {
      const r = await resolveAlarm(
        deps.db,
        deps.config,
        alarmId,
        `user:${user.id}`,
        'worker_safe_contacted',
        'by SMS reply',
        now,
        deps.tell,
      );
      outcome = r === 'resolved' ? 'safe' : 'already-resolved';
    }
    await setSmsReplyOutcome(deps.db, sms.messageSid, outcome);
  }
  return { outcome, alarmId, answer: ANSWERS[outcome](alarmId) };
}

async function tooManyWrongCodes(db: Db, schoolId: string, sender: string, now: Date): Promise<boolean> {
  const wrong = await wrongCodesSince(db, schoolId, sender, new Date(now.getTime() - WRONG_CODES_WINDOW_MS));
  return wrong.sender >= MAX_WRONG_CODES || wrong.school >= MAX_WRONG_CODES_PER_SCHOOL;
}

const ANSWERS: Record<SmsReplyOutcome, (id: string | null) => string> = {
  taken: (id) =>
    `Doorstep: alarm #${id} is yours. Call the worker now; reply 2 with the code when they are safe.`,
  'already-taken': (id) => `Doorstep: alarm #${id} was already taken by someone else.`,
  safe: (id) => `Doorstep: alarm #${id} closed: the worker is safe. Thank you.`,
  'already-resolved': (id) => `Doorstep: alarm #${id} is already closed.`,
  replay: () => '',
  'unknown-number': () => 'Doorstep: this number is not on a Doorstep account; use the board.',
  'not-your-school': () => 'Doorstep: this alarm is not at your school.',
  'not-understood': () =>
    'Doorstep: reply 1 and the code to take the alarm, or 2 and the code when the worker is safe.',
  'no-such-alarm': () => 'Doorstep: no open alarm has that code; use the board.',
  'too-many-wrong-codes': () =>
    'Doorstep: too many wrong codes in the last hour; replies are not acted on for now. Use the board.',
};
