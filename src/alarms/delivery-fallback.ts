import { BROUGHT_FORWARD } from '../domain/escalation/delivery.ts';
import { mayBringForward } from '../domain/escalation/ladder.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import type { AlarmReach } from '../store/alarm-reach.ts';
import { addTimeline, bringNextStepForward, lockAlarm } from '../store/alarm-state.ts';
import { type BoardTell, insertBoardEvent, withBoardEvents } from '../store/board.ts';
import type { Db } from '../store/db.ts';
import { type DeliveryReport, type ReportedNotification, recordDeliveryReport } from '../store/notify.ts';

export type FallbackOutcome =
  | 'next-level-now'
  | 'already-brought-forward'
  | 'not-open'
  | 'moved-on'
  | 'repeat-keeps-its-time'
  | 'missing';

/**
 * A notification of an alarm's ladder did not reach its person (the provider reported an SMS
 * undelivered, or a channel failed for good): the alarm moves to its next level now instead of at
 * the level's time — unless it is resolved, or acknowledged on a ladder that pauses then, its ladder has
 * already moved past that level, or the next step is a repeat (`mayBringForward`: past the first
 * round, each step keeps its time). The next step is the same `escalate` job the timer would have run
 * (`escalate-<alarm>-<step>`): the delayed one is promoted, or queued now under that id, so a second
 * failure of the same level (another phone, a replayed report) changes nothing.
 */
export async function fallBackNow(
  deps: { db: Db; producer: Producer<DoorstepCatalog>; tell?: BoardTell | undefined },
  n: { alarmId: string; step: number; target: string },
  why: string,
  now: Date,
): Promise<FallbackOutcome> {
  const next = n.step + 1;
  const outcome = await withBoardEvents(deps.db, deps.tell, async (tx, events) => {
    const alarm = await lockAlarm(tx, n.alarmId);
    if (!alarm) return 'missing' as const;
    // Resolved, or acknowledged where that pauses the ladder; a ladder that runs until the alarm is
    // resolved (`if-not-resolved`: an overdue visit) runs on while acknowledged, and so moves on.
    if (
      alarm.status === 'resolved' ||
      (alarm.status === 'acknowledged' && alarm.policy.condition !== 'if-not-resolved')
    )
      return 'not-open' as const;
    if (alarm.escalationStep !== next) return 'moved-on' as const;
    if (!mayBringForward(alarm.policy, next)) return 'repeat-keeps-its-time' as const;
    if (!(await bringNextStepForward(tx, alarm.id, now))) return 'already-brought-forward' as const;
    await addTimeline(tx, alarm.id, `${n.target} not delivered (${why}): ${BROUGHT_FORWARD}`);
    events.push(await insertBoardEvent(tx, alarm.schoolId, 'alarm.delivery', { alarmId: alarm.id }));
    return 'next-level-now' as const;
  });
  if (outcome === 'next-level-now' || outcome === 'already-brought-forward')
    await runNow(deps, n.alarmId, next);
  return outcome;
}

/**
 * The step's job runs now: its delayed job promoted, or queued without delay when there is none. The
 * step that paged queues that delayed job as its sends go out, so it may land between the look and
 * the queuing: the id is then taken and the add queues nothing, so the job the add names is looked at
 * too, and promoted if it is the delayed one (else it waited the level's full time).
 */
async function runNow(
  deps: { producer: Producer<DoorstepCatalog> },
  alarmId: string,
  step: number,
): Promise<void> {
  const jobId = `escalate-${alarmId}-${step}`;
  const job =
    (await deps.producer.queueFor('escalate').getJob(jobId)) ??
    (await deps.producer.enqueue('escalate', { alarmId, step }, { jobId }));
  // Waiting, running or done: it needs nothing from us. A promotion that races its timer is harmless.
  if (await job.isDelayed()) await job.promote().catch(() => {});
}

/** How long a delivery report waits for the receipt of its message to be stored, and how often it looks. */
const RECEIPT_WAIT_MS = 5000;
const RECEIPT_POLL_MS = 200;

/**
 * A provider's status callback for one SMS or call it was given (verified by the route): kept on the
 * recipient's receipt (an alarm of the route's school — of its reach: on the `orphansTo` school's
 * route, also one of a school the config no longer holds, whose messages went out through its channels); undelivered or failed moves the alarm on (`fallBackNow`). Reported once: a
 * replay, or a report on a message no alarm notification sent (after waiting RECEIPT_WAIT_MS for its
 * receipt), changes nothing.
 */
export async function handleDeliveryReport(
  deps: { db: Db; producer: Producer<DoorstepCatalog>; tell?: BoardTell | undefined },
  /** The school whose route it came to (`alarmReach`: the `orphansTo` school's finds the orphans' messages). */
  reach: AlarmReach,
  report: { messageId: string; status: DeliveryReport; errorCode: string | null },
  now: Date,
  /** What the message was, in the timeline's words: an `SMS`, or a `call` (its status as the reason). */
  what: 'SMS' | 'call' = 'SMS',
): Promise<{ notification: ReportedNotification | undefined; fallback: FallbackOutcome | null }> {
  const record = () =>
    withBoardEvents(deps.db, deps.tell, async (tx, events) => {
      const r = await recordDeliveryReport(tx, {
        school: reach,
        messageId: report.messageId,
        report: report.status,
        error: report.errorCode,
        at: now,
      });
      // On the alarm's own school's events (another's only for a school the config no longer holds).
      if (r?.fresh)
        events.push(await insertBoardEvent(tx, r.schoolId, 'alarm.delivery', { alarmId: r.alarmId }));
      return r;
    });
  // A fast report can arrive before the message's id is stored (the provider answered the send, and
  // the report left, before Doorstep wrote the receipt): it waits for it, briefly, rather than be lost.
  let notification = await record();
  for (let waited = 0; !notification && waited < RECEIPT_WAIT_MS; waited += RECEIPT_POLL_MS) {
    await new Promise((r) => setTimeout(r, RECEIPT_POLL_MS));
    notification = await record();
  }
  // A replay of a failure still makes sure the next level runs (idempotent): a crash after the
  // report was kept but before the job was queued is repaired by the provider's retry.
  if (!notification || report.status === 'delivered') return { notification, fallback: null };
  const why =
    what === 'call'
      ? `call ${report.errorCode ?? report.status}`
      : `SMS ${report.status}${report.errorCode ? `, error ${report.errorCode}` : ''}`;
  return { notification, fallback: await fallBackNow(deps, notification, why, now) };
}
