import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { alarmReach } from '../config/school-of.ts';
import { recipientKey } from '../notify/http-channels.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import type { AlarmReach } from '../store/alarm-reach.ts';
import { appendAudit } from '../store/audit.ts';
import type { BoardTell } from '../store/board.ts';
import { calledRecipient, callKeyed, placedCallRecipient, recordKeypress } from '../store/call-answers.ts';
import type { Db } from '../store/db.ts';
import type { DeliveryReport } from '../store/notify.ts';
import { senderHash } from '../store/sms-replies.ts';
import { type FallbackOutcome, handleDeliveryReport } from './delivery-fallback.ts';
import { personOfPhone, phoneAnswerRefusal, takeAlarmFromPhone } from './phone-person.ts';

/** A keypress callback is taken only this long after its call was placed (a ring, the message, the keys). */
export const KEYPRESS_WITHIN_MS = 30 * 60_000;

export type KeypressOutcome =
  | 'taken'
  | 'already-taken'
  | 'already-resolved'
  | 'replay'
  | 'unknown-call'
  | 'stale'
  | 'unknown-number'
  | 'not-your-school'
  | 'shared-number'
  | 'not-allowed'
  | 'own-alarm'
  | 'not-understood';

/**
 * A key pressed on a ladder call (the provider's `<Gather>` callback, verified by the route): the
 * call must be one an alarm notification of this school placed (on the `orphansTo` school's route,
 * also one of a school the config no longer holds: its calls went out through that school's channel), to the number the callback names
 * (the number is checked against the one that was rung), within KEYPRESS_WITHIN_MS. "1" takes the
 * alarm as the enabled account with that phone, through the same lifecycle as an SMS reply and the
 * board — only an account holding the board's roles for it (office or safeguarding), never the
 * person the alarm is about (its wearer, someone on its visit); another key asks again. A call's "1"
 * counts once: a replay does nothing. The call is found by the notification and recipient its signed
 * keypress URL names (`placed`), whatever its receipt — its id never known (placed, the provider's
 * answer lost: "may have been sent"; or still being placed), or not the `CallSid` the provider's
 * callbacks name (a compatible provider's create answer and callbacks may name it apart) — and only
 * by its `CallSid` (its receipt) when the URL names none (a call placed before URLs named it). Every
 * answer except another key is audited, refusals included, with the number only as a keyed hash.
 */
export async function handleCallKeypress(
  deps: { db: Db; config: DoorstepConfig; tell?: BoardTell | undefined },
  school: SchoolConfig,
  call: {
    callSid: string;
    to: string;
    digits: string;
    /** The notification and recipient key the keypress URL names (`gatherUrlFor`), when it names them. */
    placed?: { notificationId: string; recipientKey: string } | undefined;
  },
  now: Date,
): Promise<{ outcome: KeypressOutcome; alarmId: string | null }> {
  // The URL is signed whole by the provider, and the number it names is checked against the one rung.
  // On the `orphansTo` school's route, also the calls it placed for a school the config no longer holds.
  const reach = alarmReach(deps.config, school.id);
  const called = call.placed
    ? await placedCallRecipient(deps.db, reach, call.placed.notificationId, call.placed.recipientKey)
    : await calledRecipient(deps.db, reach, call.callSid);
  let outcome: KeypressOutcome | undefined;
  if (!called || recipientKey(called.notificationId, call.to) !== called.recipientKey)
    outcome = 'unknown-call';
  else if (now.getTime() - called.sentAt.getTime() > KEYPRESS_WITHIN_MS) outcome = 'stale';
  else if (call.digits !== '1') return { outcome: 'not-understood', alarmId: called.alarmId };
  const alarmId = outcome ? null : called!.alarmId;
  const person = outcome ? undefined : await personOfPhone(deps.db, school, call.to);
  if (typeof person === 'string') outcome = person;
  const user = person && typeof person !== 'string' ? person.user : undefined;
  // As on the board: office or safeguarding only, and never the person the alarm is about.
  if (user && alarmId && !outcome) outcome = (await phoneAnswerRefusal(deps.db, user, alarmId)) ?? undefined;
  const fresh = await deps.db.transaction(async (tx) => {
    const first =
      !outcome && called ? await recordKeypress(tx, called.notificationId, called.recipientKey, now) : false;
    if (!outcome && !first) outcome = 'replay';
    await appendAudit(tx, {
      actor: user ? `user:${user.id}` : 'system:call-keypress',
      action: first ? 'alarm.call-keypress' : 'alarm.call-keypress-refused',
      schoolId: school.id,
      entityType: 'alarm',
      entityId: called?.alarmId ?? '',
      after: {
        outcome: outcome ?? 'take',
        call: call.callSid.slice(0, 40),
        callee: senderHash(school.channels.sms!.authToken.reveal(), school.id, call.to),
      },
    });
    return first;
  });
  if (!fresh || !user || !alarmId) return { outcome: outcome!, alarmId: called?.alarmId ?? null };
  return { outcome: await takeAlarmFromPhone(deps, alarmId, user, 'call', now), alarmId };
}

/** The provider's final call states: completed is answered; the rest did not reach the person. */
const CALL_OUTCOME: Record<string, DeliveryReport> = {
  completed: 'delivered',
  busy: 'undelivered',
  'no-answer': 'undelivered',
  canceled: 'undelivered',
  failed: 'failed',
};

export function isFinalCallStatus(status: string): boolean {
  return Object.hasOwn(CALL_OUTCOME, status);
}

/**
 * A call's final status (its `StatusCallback`, verified by the route): kept on the callee's receipt
 * like an SMS delivery report; no-answer, busy, canceled and failed move the alarm on now through the
 * same fallback as an undelivered SMS — and so does a call completed without the keypress that takes
 * the alarm: a voicemail greeting "answers" a call (Twilio reports it `completed`), and the board
 * showed it delivered while no one had heard. A call no alarm placed, or a replay, changes nothing.
 */
export async function handleCallStatus(
  deps: { db: Db; producer: Producer<DoorstepCatalog>; tell?: BoardTell | undefined },
  /** The school whose route it came to (`alarmReach`: the `orphansTo` school's finds the orphans' calls). */
  reach: AlarmReach,
  call: { callSid: string; status: string },
  now: Date,
): Promise<{ alarmId: string | null; fallback: FallbackOutcome | null }> {
  const unkeyed = call.status === 'completed' && !(await callKeyed(deps.db, reach, call.callSid));
  const report = unkeyed ? 'undelivered' : CALL_OUTCOME[call.status]!;
  const r = await handleDeliveryReport(
    deps,
    reach,
    {
      messageId: call.callSid,
      status: report,
      errorCode:
        report === 'delivered'
          ? null
          : unkeyed
            ? 'answered, not taken (no keypress: a voicemail?)'
            : call.status,
    },
    now,
    'call',
  );
  return { alarmId: r.notification?.alarmId ?? null, fallback: r.fallback };
}
