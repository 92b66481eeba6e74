import { VISITING_STAFF } from './ladder.ts';

/**
 * The receipt of a recipient whose text or call was asked for and never answered (a timeout, a
 * reset, a cut answer): the provider may have made it, so it is never made again; the notification
 * fails for good and its alarm moves on. Not counted among the messages sent.
 */
export const MAY_HAVE_BEEN_SENT = 'may have been sent (no answer)';

/**
 * How an alarm's timeline ends the line of a notification not delivered that brought the ladder's
 * next level forward (run now, not at its time): the board finds by it that a level came early, and why.
 */
export const BROUGHT_FORWARD = 'the next level now, not at its time';

/**
 * How far one notification got, as the board and the incident record say it. Pure.
 *
 * - `sending`: not handed to its channel yet (or being retried);
 * - `sent`: handed over, no delivery report (yet): e-mail, chat, a webhook, an SMS not reported on;
 * - `delivered`: the board showed it, or the provider reported every message delivered;
 * - `partly-failed`: some of its messages were reported undelivered, others delivered or not yet reported;
 * - `failed`: it could not be sent, or every message was reported undelivered;
 * - `withdrawn`: not sent, and never will be: its alarm was taken or resolved before it could be
 *   (a retry after a passing failure).
 *
 * Anything other than `delivered` and `sent` means a person may not have been reached.
 */
export type DeliveryState = 'sending' | 'sent' | 'delivered' | 'partly-failed' | 'failed' | 'withdrawn';

export interface DeliveryFacts {
  target: string;
  /** The send itself: pending, sent, failed or withdrawn. */
  status: string;
  error: string | null;
  /** Provider reports of its messages (SMS). */
  delivered: number;
  undelivered: number;
  unreported: number;
  /** e.g. `undelivered 30003`. */
  deliveryErrors: readonly string[];
}

export function deliveryState(n: DeliveryFacts): DeliveryState {
  // Failed for good with some of its messages sent (a text to a group, one number refused): some
  // people have it — never "every message failed" (the ladder moved on all the same).
  if (n.status === 'failed') return n.delivered + n.unreported > 0 ? 'partly-failed' : 'failed';
  if (n.status === 'withdrawn') return 'withdrawn';
  if (n.status !== 'sent') return 'sending';
  if (n.undelivered > 0) return n.delivered + n.unreported === 0 ? 'failed' : 'partly-failed';
  if (n.target === 'board') return 'delivered';
  if (n.delivered > 0 && n.unreported === 0) return 'delivered';
  return 'sent';
}

/** One line for people: the state and, when something went wrong, why. */
export function deliveryDetail(n: DeliveryFacts): string {
  const state = deliveryState(n);
  const counts =
    n.delivered + n.undelivered > 0
      ? ` (${[
          n.delivered ? `${n.delivered} delivered` : '',
          n.undelivered ? `${n.undelivered} not delivered: ${n.deliveryErrors.join(', ')}` : '',
          n.unreported && n.delivered + n.undelivered > 0 ? `${n.unreported} not reported yet` : '',
        ]
          .filter(Boolean)
          .join('; ')})`
      : '';
  switch (state) {
    case 'failed':
      return n.status === 'failed' ? `FAILED${n.error ? ` (${n.error})` : ''}` : `NOT DELIVERED${counts}`;
    case 'partly-failed':
      return n.status === 'failed'
        ? `PARTLY FAILED${n.error ? ` (${n.error})` : ''}: ${n.delivered + n.unreported} sent${counts}`
        : `PARTLY NOT DELIVERED${counts}`;
    case 'delivered':
      return `delivered${counts}`;
    case 'sent':
      return `sent, not confirmed${counts}`;
    case 'withdrawn':
      return n.error ?? 'not sent: the alarm was taken first';
    default:
      return n.error ? `sending (retrying: ${n.error})` : 'sending';
  }
}

/**
 * What an open alarm's card warns of, beyond "unacknowledged":
 * - `no-one-reached`: every message to a person so far failed — nobody outside the board knows,
 *   and the office must phone them itself (the ladder moved on at once, so "no one has responded"
 *   would read as people ignoring it); said of an acknowledged alarm too while its ladder still runs
 *   (`runs`: one that runs until resolved), whose people the office expects to be told;
 * - `ladder-stalled`: the ladder stopped moving (`ladderStalled`: its next step minutes overdue, or its
 *   first step never taken) — nobody is being paged, and the office must phone the people itself;
 *   said of an acknowledged alarm too while its ladder still runs (one that runs until resolved);
 * - `no-response`: at least two levels sent, or the acknowledgement timed out, and still nobody has
 *   taken it;
 * - null: acknowledged or resolved, or early in the ladder.
 */
export type AlarmWarning = 'no-one-reached' | 'ladder-stalled' | 'no-response' | null;

export function alarmWarning(alarm: {
  status: string;
  /** The ladder's next step (the steps sent so far). */
  step: number;
  reopened: boolean;
  notifications: readonly DeliveryFacts[];
  /** Its ladder runs and has stopped moving (`ladderStalled`, src/domain/escalation/stalled.ts). */
  stalled?: boolean;
  /** Its ladder still runs (not paused by an acknowledgement: one that runs until resolved). */
  runs?: boolean;
}): AlarmWarning {
  if (alarm.status === 'resolved') return null;
  if ((alarm.status === 'open' || alarm.runs) && noOneReached(alarm.notifications)) return 'no-one-reached';
  if (alarm.stalled) return 'ladder-stalled';
  if (alarm.status !== 'open') return null;
  return alarm.step >= 2 || alarm.reopened ? 'no-response' : null;
}

/**
 * Every message to a person so far failed (the board's own entry aside): no one outside the board knows
 * of the alarm. Said on the board's card and on the worker's phone, which must not say "passed on".
 */
export function noOneReached(notifications: readonly DeliveryFacts[]): boolean {
  // A withdrawn message was never tried on its person: it reached no one, and failed no one.
  const toPeople = notifications.filter((n) => n.target !== 'board' && deliveryState(n) !== 'withdrawn');
  return toPeople.length > 0 && toPeople.every((n) => deliveryState(n) === 'failed');
}

/**
 * No message about the alarm has gone to anyone but the board and the worker themselves (a ladder
 * whose first levels are the board only — out of hours nobody may be watching it): the worker's
 * phone must not say "the office has been alerted", but whom to phone.
 */
export function onlyOnBoard(notifications: readonly DeliveryFacts[]): boolean {
  return !notifications.some(
    (n) =>
      n.target !== 'board' && n.target.split(':')[1] !== VISITING_STAFF && deliveryState(n) !== 'withdrawn',
  );
}

/**
 * A ladder whose first level (the one at once) tells only the board and the worker themselves: as
 * `onlyOnBoard` before any message is sent — the worker's phone says whom to phone, not "alerted".
 */
export function firstLevelOnlyOnBoard(policy: { levels: readonly { notify: readonly string[] }[] }): boolean {
  return (policy.levels[0]?.notify ?? []).every((t) => t === 'board' || t.split(':')[1] === VISITING_STAFF);
}
