import { ladderFor } from '../src/alarms/ladder-for.ts';
import { OUTSIDE_CONFIG_LOG } from '../src/checks/outside-config.ts';
import { visitRulesLookup } from '../src/config/policy-packs.ts';
import type { SchoolConfig } from '../src/config/schema.ts';
import { noLongerConfigured, orphansTo } from '../src/config/school-of.ts';
import { londonClock } from '../src/domain/attendance/dates.ts';
import { LADDER_STALLED_AFTER_MS } from '../src/domain/escalation/stalled.ts';
import type { VisitRules } from '../src/domain/visits/rules.ts';
import { arrivalAlarmKey, checkInTaken, dueVisitAlarms } from '../src/domain/visits/watch.ts';
import { doorstepError } from '../src/errors.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import {
  addTimeline,
  laddersNotStarted,
  reopenTimedOutAcknowledgements,
  stalledLadders,
} from '../src/store/alarm-state.ts';
import { raiseVisitAlarm } from '../src/store/alarm-writer.ts';
import { type BoardEventRow, insertBoardEvent, withBoardEvents } from '../src/store/board.ts';
import type { Queryable } from '../src/store/db.ts';
import { strandedNotifications } from '../src/store/notify.ts';
import {
  advanceLastCheckIn,
  alarmIdByKey,
  alarmsAwaitingFirstStep,
  boundLockWaits,
  insertTrustedFobCheckIns,
  linkDeviceAlarmsToVisits,
  openAlarmIdsOfVisit,
  visitsOutForWatch,
  watchedOutsideConfig,
} from '../src/store/visit-watch.ts';
import { getVisit } from '../src/store/visits.ts';
import { clearVisitAlarms } from '../src/visits/while-out.ts';
import type { JobDeps } from './deps.ts';

/**
 * watch-visits (every 15 s): for every visit out of school it first takes in fob check-ins (a
 * `check_in` event from a device whose staff member is on the visit), links device alarms to the
 * visit their wearer is on, then raises what is owed — overdue (expected return + grace passed) and
 * missed check-in (interval + grace passed) — once per occurrence (a unique dedup key), each with
 * its escalation policy snapshotted, timeline, audit and board event, and its ladder started. The
 * ladder is started again for any such alarm still at step 0, so a crash after the commit loses nothing.
 * Any alarm whose ladder never started (its first step's job was never queued: Redis away at the
 * raise) has that job queued 20 s on (`startLaddersNotStarted`). Then it reopens acknowledged alarms
 * whose acknowledgement timed out (`reescalateAfterMinutes`) while the worker is still not known to
 * be safe. Last, it queues again the step of any ladder that
 * should have moved and did not (`resumeStalledLadders`), and sends again any alarm notification
 * whose job gave up or was lost (`resendStrandedNotifications`): no ladder ends in silence, and no
 * level's people go unpaged, because a job ran out of retries.
 * A worker out at a school the config no longer holds (removed, or its id renamed, while they were
 * out) is watched too, by the `orphansTo` school's rules and ladders, each alarm saying so.
 */
export async function watchVisits(
  _payload: PayloadOf<DoorstepCatalog, 'watch-visits'>,
  _run: JobRun,
  deps: JobDeps,
): Promise<{ raised: number; checkIns: number; reopened: number; resumed: number; resent: number }> {
  const rulesFor = visitRulesLookup(deps.config);
  const now = deps.now();
  let raised = 0;
  let checkIns = 0;
  const tell = { publisher: deps.publisher, prefix: deps.config.redis.prefix };
  // A school whose watch fails (a row lock held past WATCH_LOCK_WAIT_MS, the database erroring) is
  // said and tried again next run; it never stops the watch of the schools after it.
  const failed: string[] = [];
  // A school the config no longer holds (renamed or removed while a worker was out or an alarm open):
  // watched as the `orphansTo` school — said every run, loudly, until the config is put right.
  // Its own failure never stops the watch of the config's schools (said, and tried again next run).
  const orphans = await watchedOutsideConfig(
    deps.db,
    deps.config.schools.map((s) => s.id),
  ).catch((err: unknown) => {
    failed.push('the schools not in the config');
    deps.log.error({ err }, 'visit watch could not look for schools not in the config; tried again next run');
    return [];
  });
  const fallback = orphansTo(deps.config);
  // The same words as `doorstep check`'s, `/readyz`'s and the start's (src/checks/outside-config.ts).
  if (orphans.length) deps.log.error({ schools: orphans, orphansTo: fallback.id }, OUTSIDE_CONFIG_LOG);
  const walks = [
    ...deps.config.schools.map((school) => ({ school, schoolId: school.id })),
    ...orphans.map((o) => ({ school: fallback, schoolId: o.schoolId })),
  ];
  for (const { school, schoolId } of walks) {
    try {
      raised += await watchSchool(school, schoolId);
    } catch (err) {
      failed.push(schoolId);
      deps.log.error({ err, school: schoolId }, 'visit watch failed for this school; tried again next run');
    }
  }
  /** The visits out at `schoolId`, by `school`'s rules: its own, or the `orphansTo` school's. */
  async function watchSchool(school: SchoolConfig, schoolId: string): Promise<number> {
    let raisedHere = 0;
    const keys: string[] = [];
    const orphan =
      schoolId === school.id ? '' : ` (${noLongerConfigured(schoolId)}: ${school.name}'s rules and ladder)`;
    await withBoardEvents(deps.db, tell, async (tx, events) => {
      await boundLockWaits(tx, WATCH_LOCK_WAIT_MS);
      checkIns += await takeFobCheckIns(tx, school, schoolId, rulesFor(school.id), now, events);
      await linkDeviceAlarmsToVisits(tx, schoolId);
      const silent = school.fobs.silentAlarmMinutes;
      const out = await visitsOutForWatch(tx, schoolId, silent !== undefined);
      const rules = rulesFor(school.id);
      for (const { visit: v, leadStaffId, fobLastAt } of out) {
        const fob = v.fobDeviceId && silent ? { lastEventAt: fobLastAt, silentMinutes: silent } : null;
        for (const due of dueVisitAlarms({ ...v, fob }, rules, now)) {
          keys.push(due.dedupKey);
          const alarm = await raiseVisitAlarm(tx, {
            schoolId,
            visitId: v.id,
            staffId: leadStaffId,
            type: due.type,
            dedupKey: due.dedupKey,
            raisedAt: due.dueAt,
            // The ladder of the moment it is raised (up to VISIT_WATCH_SLACK_MS after it fell due),
            // never of the deadline: the phone page judges both (src/visits/watch-reach.ts).
            policy: ladderFor(school, due.type, now),
            what: `alarm raised: ${WHAT[due.type]}${orphan}`,
            actor: 'system:visit-watcher',
          });
          if (alarm) {
            raisedHere++;
            events.push(alarm.board);
          }
        }
      }
    });
    if (keys.length) {
      for (const alarmId of await alarmsAwaitingFirstStep(deps.db, keys))
        await deps.producer.enqueue('escalate', { alarmId, step: 0 }, { jobId: `escalate-${alarmId}-0` });
    }
    return raisedHere;
  }
  await startLaddersNotStarted(deps, now);
  const reopened = await reopenAcknowledgements(deps, now);
  const resumed = await resumeStalledLadders(deps, now);
  const resent = await resendStrandedNotifications(deps, now);
  if (failed.length)
    throw doorstepError(
      'SERVICE_UNAVAILABLE',
      `visit watch failed for ${failed.join(', ')} (the others were watched); tried again next run`,
    );
  return { raised, checkIns, reopened, resumed, resent };
}

/** How long the watch of one school waits for a row lock before that school's run is given up. */
export const WATCH_LOCK_WAIT_MS = 5000;

/** How long an alarm notification may stay unsent, held by no step, before its job is looked at. */
export const STRANDED_AFTER_MS = 60_000;

/**
 * Alarm notifications whose job ran out of tries (an outage longer than its retries: it is kept
 * failed, and queuing its id again would be a no-op) or was lost: their own job is tried again — a
 * failed or finished one retried, a lost one queued anew, always under the notification's one job
 * id (`notify-<id>`), so a step's retry that queues it too adds nothing and it is never sent twice —
 * unless that job will still run. Else that level's people would never be paged, and the board would
 * show it sending for ever. A retried job that has used its tries is on its last: failing again, the
 * notification fails for good and the ladder's next level comes forward.
 */
async function resendStrandedNotifications(deps: JobDeps, now: Date): Promise<number> {
  const stranded = await strandedNotifications(deps.db, now, STRANDED_AFTER_MS);
  if (stranded.length === 0) return 0;
  const resent: string[] = [];
  for (const id of stranded)
    if ((await deps.producer.rerun('notify', { notificationId: id }, `notify-${id}`)) === 'queued')
      resent.push(id);
  if (resent.length)
    deps.log.warn(
      { notifications: resent },
      'alarm notifications unsent a minute on with no job left to send them were tried again',
    );
  return resent.length;
}

/**
 * How long an alarm may stand at its first step, never taken, before its first step's job is queued
 * (again): beyond the safety-net delay of a first step taken where it was raised (FIRST_STEP_NET_MS,
 * 10 s), so a job that is merely waiting is left alone. With the watch every 15 s, an alarm whose job
 * was never queued pages its first level within 35 s, not after LADDER_STALLED_AFTER_MS.
 */
export const NOT_STARTED_AFTER_MS = 20_000;

/**
 * Ladders whose first step's job was never queued (an "I need help" or a drill raised while Redis
 * blinked: the raise stands, the queuing failed): the job is queued under its one id,
 * `escalate-<id>-0` — where it exists already (waiting, delayed, retrying) this adds nothing, and
 * the step is taken once whatever runs it. A job that gave up is `resumeStalledLadders`' to take.
 */
async function startLaddersNotStarted(deps: JobDeps, now: Date): Promise<void> {
  for (const alarmId of await laddersNotStarted(deps.db, now, NOT_STARTED_AFTER_MS))
    await deps.producer.enqueue('escalate', { alarmId, step: 0 }, { jobId: `escalate-${alarmId}-0` });
}

/**
 * Steps whose job gave up (a database or Redis outage longer than its retries) or was lost are queued
 * again under a new job id (a failed job's id would make the new one a no-op), at most once a minute
 * per alarm and step. The escalate job takes a step only where the alarm still stands, so one queued
 * twice is taken once.
 */
async function resumeStalledLadders(deps: JobDeps, now: Date): Promise<number> {
  const stalled = await stalledLadders(deps.db, now, LADDER_STALLED_AFTER_MS);
  const minute = Math.floor(now.getTime() / 60_000);
  for (const { id, step } of stalled)
    await deps.producer.enqueue(
      'escalate',
      { alarmId: id, step },
      { jobId: `escalate-${id}-${step}-resumed-${minute}` },
    );
  if (stalled.length)
    deps.log.warn(
      { alarms: stalled.map((s) => s.id) },
      'escalation steps overdue by more than 2 minutes were queued again (their jobs had not run)',
    );
  return stalled.length;
}

/** Acknowledgements that timed out with the worker still not safe: open again, back in the ladder. */
async function reopenAcknowledgements(deps: JobDeps, now: Date): Promise<number> {
  const tell = { publisher: deps.publisher, prefix: deps.config.redis.prefix };
  const reopened = await withBoardEvents(deps.db, tell, async (tx, events) => {
    const list = await reopenTimedOutAcknowledgements(tx, now);
    for (const a of list)
      events.push(await insertBoardEvent(tx, a.schoolId, 'alarm.reopened', { alarmId: a.id }));
    return list;
  });
  for (const a of reopened) {
    await deps.producer.enqueue(
      'escalate',
      { alarmId: a.id, step: a.resumeStep, reopened: a.reopened },
      { jobId: `escalate-${a.id}-${a.resumeStep}-r${a.reopened}` },
    );
    // Messages withdrawn while it was taken are sent now, under their one job id (its finished job
    // run again): never twice, never left withdrawn on an alarm open again.
    for (const id of a.resend) await deps.producer.rerun('notify', { notificationId: id }, `notify-${id}`);
  }
  return reopened.length;
}

const WHAT = {
  overdue_visit: 'visit overdue',
  missed_check_in: 'check-in missed',
  device_silent: 'the worker’s fob has gone silent',
} as const;

/**
 * Fob `check_in` events become check-ins of a departed visit only when they are trusted (device
 * identity and signature verified), come from a device registered to a person on that visit, were
 * received after it departed, and their device clock is not ahead of Doorstep's beyond the school's
 * skew (such a check-in is kept as an event but counts for nothing: it neither postpones nor clears
 * a missed check-in). A check-in's time is never later than its receipt; a device time before the
 * departure within the same skew (a slow clock) is replaced by the received time, and one earlier
 * still (an old check-in, perhaps replayed) counts for nothing. Once per event. What each does to the
 * visit's open missed check-ins is the domain's (`checkInTaken`): one that no longer meets the
 * check-in clock (made before a deadline, held by the fob without signal and delivered after it) is
 * kept and noted on them, and neither clears nor restarts anything — nothing has been heard from the
 * worker since; one that does moves the clock and resolves those the visit no longer owes, never
 * one it still owes — the arrival call's alarm, for a check-in made before that was due, stands,
 * noted.
 */
async function takeFobCheckIns(
  tx: Queryable,
  school: SchoolConfig,
  schoolId: string,
  rules: VisitRules,
  now: Date,
  events: BoardEventRow[],
) {
  const taken = await insertTrustedFobCheckIns(tx, schoolId, now, school.fobs.maxClockSkewSeconds * 1000);
  for (const { visitId, at } of taken) {
    const v = await getVisit(tx, visitId);
    if (!v) continue;
    const made = `a fob check-in made at ${londonClock(at)} arrived at ${londonClock(now)}`;
    const checkIn = checkInTaken(v, at, rules, now);
    if (!checkIn.counts) {
      // Made before the deadline, delivered after it: kept, but the worker is still unheard from.
      for (const alarmId of await openAlarmIdsOfVisit(tx, visitId, ['missed_check_in']))
        await addTimeline(
          tx,
          alarmId,
          `${made}, after the check-in it would have met was due: the alarm stands`,
          'system:visit-watcher',
        );
      continue;
    }
    await advanceLastCheckIn(tx, visitId, at);
    // The deadlines still owed with it taken: their alarms stand (the arrival call's, for a check-in
    // made on the road before it was due), said on each.
    const open = await openAlarmIdsOfVisit(tx, visitId, ['missed_check_in']);
    const stands: string[] = [];
    for (const owed of checkIn.stillOwed) {
      const alarmId = await alarmIdByKey(tx, owed.dedupKey);
      if (!alarmId || !open.includes(alarmId)) continue;
      stands.push(alarmId);
      const what =
        owed.dedupKey === arrivalAlarmKey(visitId)
          ? 'made before the arrival call was due: it is no arrival, the arrival call is still owed and the alarm stands'
          : 'the check-in this alarm is for is still owed: the alarm stands';
      await addTimeline(tx, alarmId, `${made}, ${what}`, 'system:visit-watcher');
    }
    await clearVisitAlarms(
      tx,
      { id: visitId, schoolId },
      ['missed_check_in'],
      'system:visit-watcher',
      'the worker checked in (fob)',
      now,
      events,
      'worker_checked_in',
      stands,
    );
    events.push(await insertBoardEvent(tx, schoolId, 'visit.checked-in', { visitId }));
  }
  return taken.length;
}
