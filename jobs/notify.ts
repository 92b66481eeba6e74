import { UnrecoverableError } from 'bullmq';
import { fallBackNow } from '../src/alarms/delivery-fallback.ts';
import { periodFor } from '../src/alarms/ladder-for.ts';
import type { SchoolConfig } from '../src/config/schema.ts';
import { schoolOrFallback } from '../src/config/school-of.ts';
import { settledWithin } from '../src/core/settled-within.ts';
import { decideStep, type EscalationPolicy, levelAt } from '../src/domain/escalation/ladder.ts';
import { officeLine } from '../src/domain/visits/office-line.ts';
import { retryClassOf } from '../src/errors.ts';
import { channelKind, type Notification } from '../src/notify/channel.ts';
import { channelsFor } from '../src/notify/channels-for.ts';
import { emailDetails } from '../src/notify/email-details.ts';
import { toTheWorker } from '../src/notify/message.ts';
import { withinSendBound } from '../src/notify/send-bound.ts';
import { visitGroupsFor } from '../src/notify/visit-groups.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import { type JobRun, RetryLaterError } from '../src/queue/worker-host.ts';
import {
  markNotificationAttemptFailed,
  markNotificationSent,
  markNotificationVia,
  notificationToSend,
  withdrawNotification,
} from '../src/store/notify.ts';
import type { JobDeps } from './deps.ts';

/**
 * notify: one notification through its channel, once. Each is its own job, so a failing channel is
 * retried on its own and never holds up the other targets or the next level. The escalation step
 * makes the first attempt itself (`deliver`) while its claim lasts; the job, queued beside it as a
 * safety net, waits for the claim to end and then finds the notification sent, or sends it.
 */
export async function notify(
  payload: PayloadOf<DoorstepCatalog, 'notify'>,
  run: JobRun,
  deps: JobDeps,
): Promise<{ status: string }> {
  const r = await notificationToSend(deps.db, payload.notificationId);
  if (!r) return { status: 'missing' };
  if (r.status !== 'pending') return { status: r.status };
  if (r.claimedMs > 0) {
    // Its step is sending it: in this process, wait for that and look again; elsewhere, later.
    const sending = sendingNow.get(r.id);
    if (!sending) throw new RetryLaterError(r.claimedMs, 'its escalation step is sending it');
    await sending.catch(() => {});
    return notify(payload, run, deps);
  }
  // A retry (after a passing failure) or a stranded send, after a person took or resolved the alarm:
  // its ladder would send nothing now, so neither does this — nobody is paged about an alarm in hand.
  // (Re-opened after its acknowledgement timed out, the alarm's withdrawn messages are sent then.)
  const standDown = stoodDown(r.policy as EscalationPolicy | null, r.step, r.alarmStatus);
  if (standDown) {
    if (await withdrawNotification(deps.db, r.id, standDown)) return { status: 'withdrawn' };
    return notify(payload, run, deps);
  }
  const n: Notification = {
    id: r.id,
    alarmId: r.alarmId,
    schoolId: r.schoolId,
    step: r.step,
    target: r.target,
    alarmType: r.alarmType,
    deviceId: r.deviceId,
    staffId: r.staffId,
    visitId: r.visitId,
    test: r.test,
    prompt: r.policy ? (levelAt(r.policy as EscalationPolicy, r.step).prompt ?? null) : null,
  };
  return deliver(deps, n, run.attempt >= run.maxAttempts);
}

/** Why a notification of this alarm is no longer to be sent, or null: as its ladder decides its steps. */
function stoodDown(
  policy: EscalationPolicy | null,
  step: number,
  state: 'open' | 'acknowledged' | 'resolved',
): string | null {
  if (state === 'resolved') return 'not sent: the alarm was resolved first';
  if (policy && decideStep(policy, step, state).kind === 'stop') return 'not sent: the alarm was taken first';
  return null;
}

/** Notifications their escalation step is sending in this process now. */
const sendingNow = new Map<string, Promise<unknown>>();

/**
 * Resolves when the sends the escalation steps of this process started have ended, or after `ms`:
 * shutdown waits for them before it closes the store (a send whose receipt could not be recorded
 * would be sent again by its job when the claim ends).
 */
export function stepSendsSettled(ms: number): Promise<void> {
  return settledWithin(sendingNow.values(), ms);
}

/** The step's own first attempt (the notification claimed): `deliver`, known to this process's jobs. */
export function deliverClaimed(deps: JobDeps, n: Notification): Promise<{ status: string }> {
  const p = deliver(deps, n, false);
  sendingNow.set(n.id, p);
  const done = () => sendingNow.delete(n.id);
  p.then(done, done);
  return p;
}

/**
 * Whether a send that threw `err` is given up on — no job tries it again: refused or misconfigured
 * (no channel for it), or `last`, its last try. Else its job retries it.
 */
export function failedForGood(err: unknown, last = false): boolean {
  return last || err instanceof UnrecoverableError || retryClassOf(err) !== 'transient';
}

/**
 * Sends one pending notification through its channel and records the outcome (sent; or its error,
 * failed on the last try), releasing any claim. Throws what the channel threw (`failedForGood` says
 * whether anything tries it again). The alarm of a school the config no longer holds goes through the
 * `orphansTo` school's channels and contacts, its words saying whose it is (never no channel at all),
 * the notification keeping which school's channels sent it (`markNotificationVia`): the answers come
 * back on that school's routes, and must find it there even once the missing school is put back.
 */
export async function deliver(
  deps: JobDeps,
  given: Notification,
  last: boolean,
): Promise<{ status: string }> {
  const found = schoolOrFallback(deps.config, given.schoolId);
  const n: Notification = found.orphan
    ? { ...given, orphanSchool: found.orphan, boardSchoolId: found.school.id }
    : given;
  // What a call or a push says of the school: the one taking it, for the one no longer configured.
  const school = found.orphan
    ? { ...found.school, name: `${found.school.name}, for ${found.orphan}` }
    : found.school;
  const extra = await visitGroupsFor(deps.db, n.target, {
    schoolId: n.schoolId,
    visitId: n.visitId ?? null,
    staffId: n.staffId ?? null,
  });
  const channel = channelsFor(
    school,
    { db: deps.db, publisher: deps.publisher, prefix: deps.config.redis.prefix },
    extra,
  ).get(channelKind(n.target));
  if (!channel) {
    const reason = `no "${channelKind(n.target)}" channel is configured`;
    await markNotificationAttemptFailed(deps.db, n.id, reason, true);
    await fallBack(deps, n, reason);
    throw new UnrecoverableError(reason);
  }
  // Through another school's channels: kept first, for the answers that come back on its routes. Never
  // at the cost of the send: unkept, its answers are found there while the school stays missing.
  if (found.orphan)
    await markNotificationVia(deps.db, n.id, found.school.id).catch((err: unknown) =>
      deps.log.error({ err, alarm: n.alarmId, notification: n.id }, 'could not keep which school sends it'),
    );
  try {
    const receipt = await withinSendBound(
      channel.send(
        channel.kind === 'email'
          ? await emailDetails(deps.db, forTheWorker(n, school, deps.now()), deps.config.http.publicUrl)
          : forTheWorker(n, school, deps.now()),
      ),
      channelKind(n.target),
    );
    await markNotificationSent(deps.db, n.id, receipt.receipt);
    return { status: 'sent' };
  } catch (err) {
    const final = failedForGood(err, last);
    await markNotificationAttemptFailed(deps.db, n.id, (err as Error).message, final);
    // Given up on (refused, misconfigured, or out of tries): an alarm's next level now, not at its time.
    if (final) await fallBack(deps, n, (err as Error).message);
    throw err;
  }
}

/**
 * A text or e-mail to the people on the visit themselves carries the number their phone page offers
 * now (the office in school hours, else the on-call number), for the words that ask them to call in.
 */
function forTheWorker(n: Notification, school: SchoolConfig, now: Date): Notification {
  if (n.notice || !toTheWorker(n.target)) return n;
  return { ...n, officeLine: officeLine(school, periodFor(school, now)) };
}

/**
 * An alarm notification that will not reach its person moves the alarm on now (never a notice), and
 * is logged failed for good — the one line said of it: nothing retries it.
 */
async function fallBack(deps: JobDeps, n: Notification, why: string): Promise<void> {
  if (n.notice) return;
  if (n.target === 'board') {
    deps.log.warn({ alarm: n.alarmId, notification: n.id, target: n.target }, 'notification failed for good');
    return;
  }
  try {
    const outcome = await fallBackNow(
      {
        db: deps.db,
        producer: deps.producer,
        tell: { publisher: deps.publisher, prefix: deps.config.redis.prefix },
      },
      n,
      why.slice(0, 200),
      deps.now(),
    );
    deps.log.warn(
      { alarm: n.alarmId, notification: n.id, target: n.target, outcome },
      'notification failed for good',
    );
  } catch (err) {
    // The level's timer still runs the next step; the notification's own failure is thrown by the caller.
    deps.log.error({ err, alarm: n.alarmId, notification: n.id }, 'could not bring the next level forward');
  }
}
