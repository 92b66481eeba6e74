import type { FirstStepTaker } from '../src/alarms/ingest-types.ts';
import { ladderFor } from '../src/alarms/ladder-for.ts';
import { takeRaised } from '../src/alarms/recent-raises.ts';
import { schoolOrFallback } from '../src/config/school-of.ts';
import { settledWithin } from '../src/core/settled-within.ts';
import { decideStep, levelAt, nextStepTimes, stepLeadMs } from '../src/domain/escalation/ladder.ts';
import {
  looksAtLadderNow,
  type RoutedPolicy,
  targetsWithLadderNow,
} from '../src/domain/escalation/routing.ts';
import { channelKind, type Notification } from '../src/notify/channel.ts';
import { catalog, type DoorstepCatalog, type PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import {
  addTimeline,
  lockAlarm,
  pauseEscalation,
  readAlarm,
  setEscalationStep,
} from '../src/store/alarm-state.ts';
import { takeEscalationStep } from '../src/store/alarms.ts';
import { type BoardEventRow, publishBoardEvents } from '../src/store/board.ts';
import { stepNotifications } from '../src/store/notify.ts';
import type { JobDeps } from './deps.ts';
import { deliverClaimed, failedForGood } from './notify.ts';

/**
 * How long a step's own first attempt at its notifications holds them (the notify jobs queued as a
 * safety net wait that long before they look). Longer than any channel it is used for may take:
 * the HTTP channels give up after 10 s.
 */
export const STEP_CLAIM_MS = 30_000;
/** Channels the step tries itself: local or HTTP, each bounded in time. E-mail goes by its job. */
const TRIED_BY_STEP = new Set(['board', 'webhook', 'sms', 'call', 'push', 'teams', 'google-chat']);

/**
 * escalate: one step of an alarm's ladder. It re-reads the alarm and takes the step only if the alarm
 * still stands where it was read (one statement with the row locked), so an acknowledgement
 * (or resolution) stops every further page — across restarts, since the state lives in the database.
 * A step's changes are made once (the alarm records the next step due; another worker or a replay
 * finds the step already taken). After the commit — also when the step was already taken — its
 * notification jobs and the next step's delayed job are queued under ids derived from the alarm,
 * so a crash between commit and queue is repaired by the retry and nothing is sent twice.
 *
 * Latency: a new step's notifications are created claimed by the step (STEP_CLAIM_MS), and the step
 * hands them to their channels itself right after the commit, all at once, without waiting for them
 * (a slow channel never holds up this job or the next alarm's). Their notify jobs are queued first,
 * delayed by the claim, as the safety net: a notification the step sent is found sent; one whose
 * attempt failed has its claim released and its job run at once (retried with backoff on its own);
 * one the step never finished (the process died) is sent by its job when the claim ends.
 */
export async function escalate(
  payload: PayloadOf<DoorstepCatalog, 'escalate'>,
  _run: JobRun,
  deps: JobDeps,
): Promise<{ outcome: string }> {
  let taken: Taken | undefined;
  let outcome = 'already taken';
  let settled = false;
  // Optimistic: read the alarm, decide, and write the step in ONE statement that takes it only if
  // the alarm still stands where it was read (an acknowledgement in between wins: read again).
  // The first step of an alarm this process just raised starts from what the raise knew (the
  // statement below still holds it to "open, at step 0"): no read on the alarm path's first page.
  const raised = payload.step === 0 && !payload.reopened ? takeRaised(payload.alarmId) : undefined;
  for (let tries = 0; tries < 5; tries++) {
    const alarm =
      tries === 0 && raised
        ? { ...raised, status: 'open' as const, escalationStep: 0, plannedAt: null }
        : await readAlarm(deps.db, payload.alarmId);
    if (!alarm) return { outcome: 'missing' };
    if (alarm.escalationStep !== payload.step) {
      settled = true;
      break;
    }
    // How early this step runs, measured now with this clock against its planned time: a failure
    // that brought it forward and whose job really ran early. A promotion that never happened or a
    // stalled job gives 0: the next round is never held back for it. (A worker whose clock is behind
    // the one that planned the step counts that skew as lead: under a second with clocks in sync.)
    const now = deps.now();
    const decision = decideStep(alarm.policy, payload.step, alarm.status, stepLeadMs(alarm.plannedAt, now));
    if (decision.kind === 'stop') {
      const stopped = await stopEscalation(deps, payload.step, alarm.id, decision.reason);
      if (stopped) return { outcome: `stopped: ${decision.reason}` };
      continue;
    }
    const { targets, added, period } = stepTargets(deps, alarm, payload, decision.targets);
    const next = nextStepTimes(now, decision.next);
    const fresh = await takeEscalationStep(deps.db, {
      alarmId: alarm.id,
      schoolId: alarm.schoolId,
      status: alarm.status,
      // What the board channel writes (src/notify/board-channel.ts): ids only.
      boardPayload: {
        alarmId: alarm.id,
        step: payload.step,
        type: alarm.type,
        deviceId: alarm.deviceId,
        staffId: alarm.staffId,
        target: 'board',
        ...(alarm.test ? { test: true } : {}),
      },
      step: payload.step,
      targets,
      timeline: `level ${decision.level + 1}${decision.round ? ` (repeat ${decision.round})` : ''}: notified ${targets.join(', ')}${added.length ? ` (${period} now: also that ladder's last level, ${added.join(', ')})` : ''}`,
      nextStep: decision.next.step,
      nextDueAt: next.dueAt,
      nextPlannedAt: next.plannedAt,
      claimMs: STEP_CLAIM_MS,
      claimed: targets.filter((t) => TRIED_BY_STEP.has(channelKind(t))),
    });
    if (!fresh.taken) continue; // the alarm moved (acknowledged, resolved, another worker): look again
    taken = {
      next: decision.next.step,
      delayMs: decision.next.delayMs,
      board: fresh.board,
      notifications: fresh.notifications
        .filter((f) => f.status === 'pending')
        .map(
          (f): Notification => ({
            id: f.id,
            alarmId: alarm.id,
            schoolId: alarm.schoolId,
            step: payload.step,
            target: f.target,
            alarmType: alarm.type,
            deviceId: alarm.deviceId,
            staffId: alarm.staffId,
            visitId: alarm.visitId,
            test: alarm.test,
            prompt: levelAt(alarm.policy, payload.step).prompt ?? null,
          }),
        ),
    };
    outcome = `level ${decision.level + 1} notified`;
    settled = true;
    break;
  }
  // Never silent: an alarm that kept changing under the step fails the job, and BullMQ retries it.
  if (!settled)
    throw new Error(`alarm ${payload.alarmId} kept changing during step ${payload.step}; retrying`);
  if (taken) {
    await tellAtOnce(payload, deps, taken);
    return { outcome };
  }

  // Already taken (a retry, another worker, a replay):
  // Queue this step's sends and the next step (idempotent job ids).
  const step = await stepNotifications(deps.db, payload.alarmId, payload.step);
  for (const n of step.notifications) {
    if (n.status === 'pending')
      await deps.producer.enqueue('notify', { notificationId: n.id }, { jobId: `notify-${n.id}` });
  }
  const next = step.escalationStep;
  if (next === payload.step + 1) {
    // Step ids are unique per alarm; a re-entry after a timed-out acknowledgement has its own (below).
    // The due time was fixed when the step was taken: a retry later waits only what is left of it.
    const dueAt = step.nextStepAt;
    const delayMs = dueAt ? Math.max(0, dueAt.getTime() - deps.now().getTime()) : 0;
    await deps.producer.enqueue(
      'escalate',
      { alarmId: payload.alarmId, step: next },
      { jobId: `escalate-${payload.alarmId}-${next}`, ...(delayMs > 0 ? { delayMs } : {}) },
    );
  }
  return { outcome };
}

/**
 * The targets step `payload.step` pages: its level's, plus — past the ladder's first round or on a
 * reopen, once the clock has left the period the alarm was raised in (17:00 passed, say) — the last
 * level of the ladder that holds now, so an alarm still going out of hours reaches the out-of-hours
 * people too (src/domain/escalation/routing.ts). A school the config no longer holds: the
 * `orphansTo` school's ladder of now.
 */
function stepTargets(
  deps: JobDeps,
  alarm: { schoolId: string; type: string; deviceId: string | null; policy: RoutedPolicy },
  payload: PayloadOf<DoorstepCatalog, 'escalate'>,
  own: string[],
): { targets: string[]; added: string[]; period?: string } {
  const none = { targets: own, added: [] };
  if (!looksAtLadderNow(alarm.policy, payload.step, payload.reopened !== undefined)) return none;
  const { school } = schoolOrFallback(deps.config, alarm.schoolId);
  const now = ladderFor(school, alarm.type, deps.now(), alarm.deviceId ? 'fob' : 'register');
  const r = targetsWithLadderNow(own, alarm.policy, now);
  return { ...r, period: now.period && PERIOD_WORDS[now.period] };
}

const PERIOD_WORDS = {
  'school-hours': 'school hours',
  'out-of-hours': 'out of hours',
  weekend: 'the weekend',
  holiday: 'a holiday',
} as const;

/** A `FirstStepTaker` that can also be waited for at shutdown. */
export interface FirstStepsHere extends FirstStepTaker {
  /** Resolves when every first step started here has ended, or after `ms`, whichever comes first. */
  settled(ms: number): Promise<void>;
}

/**
 * The ingest role's `firstStep` (src/alarms/ingest-types.ts): a new alarm's first step taken in this
 * process right after its commit, by this same handler — no queue hop before the first page. At most
 * as many at once as the alarms queue runs (a burst, e.g. a broker's backlog after an outage, leaves
 * the rest to their jobs, at once, so the pool and the next alarm's write are never crowded out).
 * Each starts once its safety-net job (queued delayed) is in Redis: a step is never taken here
 * without a job that can finish it; should queuing fail, none is taken here (the event is not
 * acknowledged, its redelivery queues the job). Should the step here fail, its job is brought forward
 * at once and takes it with its own retries (the step's statement takes a step once, so the two never
 * both page). Shutdown waits for the steps in flight (`settled`) before closing the store and Redis.
 */
export function firstStepHere(deps: JobDeps, step: typeof escalate = escalate): FirstStepsHere {
  const limit = catalog.queues.alarms.concurrency;
  const inFlight = new Set<Promise<void>>();
  let reserved = 0;
  const takeOne = async (alarmId: string, queued: Promise<unknown>) => {
    const run: JobRun = {
      id: `escalate-${alarmId}-0`,
      name: 'escalate',
      attempt: 1,
      maxAttempts: 1,
      signal: new AbortController().signal,
    };
    try {
      await queued;
    } catch {
      return; // no safety net, no step here: the redelivery's job takes it
    }
    try {
      await step({ alarmId, step: 0 }, run, deps);
    } catch (err) {
      deps.log.warn({ err, alarm: alarmId }, 'first escalation step failed here; its job takes it now');
      try {
        await (await deps.producer.queueFor('escalate').getJob(run.id))?.promote();
      } catch {
        // Not promoted: the job runs when its delay ends (the visit watcher also finds a stalled ladder).
      }
    }
  };
  return {
    reserve(alarmIds) {
      const room = Math.max(0, limit - reserved);
      const mine = alarmIds.slice(0, room);
      reserved += mine.length;
      return mine;
    },
    take(alarmIds, queued) {
      for (const alarmId of alarmIds) {
        const p = takeOne(alarmId, queued).finally(() => {
          reserved--;
          inFlight.delete(p);
        });
        inFlight.add(p);
      }
    },
    settled: (ms) => settledWithin(inFlight, ms),
  };
}

interface Taken {
  next: number;
  delayMs: number;
  /** The step's board event (already recorded sent), to publish. */
  board: BoardEventRow | null;
  /** Its other new notifications, pending. */
  notifications: Notification[];
}

/** A step just taken: its safety-net jobs and the next step queued, then its notifications sent now. */
async function tellAtOnce(
  payload: PayloadOf<DoorstepCatalog, 'escalate'>,
  deps: JobDeps,
  taken: Taken,
): Promise<void> {
  const now = taken.notifications.filter((n) => TRIED_BY_STEP.has(channelKind(n.target)));
  // The board at once; the other channels tried now. Should this process die before the safety-net
  // jobs below are queued, this job is not complete: its retry finds the step taken and queues them.
  const told = taken.board
    ? publishBoardEvents(deps.publisher, deps.config.redis.prefix, [taken.board])
    : Promise.resolve();
  const queued =
    taken.notifications.length > 0 &&
    deps.producer.enqueueBulk(
      'notify',
      taken.notifications.map((n) => ({
        payload: { notificationId: n.id },
        options: { jobId: `notify-${n.id}`, ...(now.includes(n) ? { delayMs: STEP_CLAIM_MS } : {}) },
      })),
    );
  for (const n of now) {
    deliverClaimed(deps, n).catch(async (err: unknown) => {
      // Given up on (refused, no channel for it): `deliver` has said so, and no job retries it.
      if (failedForGood(err)) return;
      // The claim is released; its job takes over now, with its own retries and backoff.
      deps.log.warn({ err, notification: n.id, target: n.target }, 'notification failed; its job retries it');
      try {
        await queued;
        await (await deps.producer.queueFor('notify').getJob(`notify-${n.id}`))?.promote();
      } catch {
        // Not promoted: the job runs when its delay ends (or the step's retry queues it).
      }
    });
  }
  await Promise.all([
    told,
    queued,
    taken.next === payload.step + 1 &&
      deps.producer.enqueue(
        'escalate',
        { alarmId: payload.alarmId, step: taken.next },
        {
          jobId: `escalate-${payload.alarmId}-${taken.next}`,
          ...(taken.delayMs > 0 ? { delayMs: taken.delayMs } : {}),
        },
      ),
  ]);
}

/**
 * The ladder stops (acknowledged: paused where it stands; resolved: ended), in a transaction with
 * the alarm locked and checked again; false when the alarm moved meanwhile (the caller reads again).
 */
async function stopEscalation(
  deps: JobDeps,
  step: number,
  alarmId: string,
  reason: string,
): Promise<boolean> {
  return deps.db.transaction(async (tx) => {
    const alarm = await lockAlarm(tx, alarmId);
    if (!alarm || alarm.escalationStep !== step) return false;
    const decision = decideStep(alarm.policy, step, alarm.status);
    if (decision.kind !== 'stop' || decision.reason !== reason) return false;
    if (decision.reason === 'acknowledged') await pauseEscalation(tx, alarm.id, step);
    else await setEscalationStep(tx, alarm.id, -1);
    await addTimeline(tx, alarm.id, `escalation stopped: ${decision.reason}`);
    return true;
  });
}
