import type { VisitRules } from './rules.ts';

export interface WatchedVisit {
  id: string;
  status: string;
  departedAt: Date | null;
  /** When monitoring ended (back safe); null while the worker is out. */
  returnedAt: Date | null;
  arrivedAt: Date | null;
  expectedReturnAt: Date | null;
  lastCheckInAt: Date | null;
  checkInMinutes: number | null;
  /** The worker's fob, its last event, and how long it may stay silent (the school's setting). */
  fob?: { lastEventAt: Date | null; silentMinutes: number } | null;
}

export interface DueVisitAlarm {
  type: 'overdue_visit' | 'missed_check_in' | 'device_silent';
  /** Unique per occurrence: raising it again changes nothing. */
  dedupKey: string;
  /** When it became due (the alarm's raised-at). */
  dueAt: Date;
}

const minutes = (n: number) => n * 60_000;

/**
 * The key an overdue alarm is raised under: one per return time — a new return time (running late)
 * re-arms it, and one already raised for it (by the watcher, or by "I am still out" past the worker's
 * own return time) is never raised again.
 */
export const overdueAlarmKey = (visitId: string, expectedReturnAt: Date) =>
  `visit:${visitId}:overdue:${expectedReturnAt.toISOString()}`;

/**
 * The key of an overdue alarm "I am still out" raises when no return time it tried was free (every
 * one's overdue alarm raised before): a key of its own — `unique` a fresh random id the caller makes —
 * which nothing else raises under, so the alarm is always raised. The watcher raises none under it:
 * the return time's own key was taken, so it raises no second alarm either.
 */
export const overdueOwnAlarmKey = (visitId: string, expectedReturnAt: Date, unique: string) =>
  `${overdueAlarmKey(visitId, expectedReturnAt)}:own:${unique}`;

/** The key of the arrival call's alarm (Thames View 2.4): one per visit, as the call is owed once. */
export const arrivalAlarmKey = (visitId: string) => `visit:${visitId}:arrival`;

/** How often the visit watcher (jobs/watch-visits.ts) runs: src/runtime/schedules.ts schedules it so. */
export const VISIT_WATCH_EVERY_MS = 15_000;

/**
 * How long after a deadline the watcher may raise its alarm, on the ladder of the moment it raises it
 * (`ladderFor(school, type, now)`), not of the deadline: the next run (at most `VISIT_WATCH_EVERY_MS`
 * on), a run that fails and the next one, a run that hangs until its job's timeout (60 s) and the
 * next one — 1 min 45 s at most — with room: 2 minutes. The phone page judges each alarm's ladder at
 * every moment from its deadline to this much after it (src/visits/watch-reach.ts).
 */
export const VISIT_WATCH_SLACK_MS = 2 * 60_000;

/** The policy settings the deadlines are set by. */
export type DeadlineRules = Pick<
  VisitRules,
  'checkInMinutes' | 'arrivalCheckInMinutes' | 'overdueGraceMinutes' | 'checkInGraceMinutes'
>;

/**
 * The deadlines a worker who is out is watched against (none before they leave, or once they are
 * back safe): each alarm's next due time, whether passed or not. Pure.
 */
export function visitDeadlines(v: WatchedVisit, rules: DeadlineRules): DueVisitAlarm[] {
  if (!v.departedAt || v.returnedAt) return [];
  const out: DueVisitAlarm[] = [];
  if (v.expectedReturnAt) {
    // Keyed by the return time it is for: a new return time (running late) re-arms it.
    out.push({
      type: 'overdue_visit',
      dedupKey: overdueAlarmKey(v.id, v.expectedReturnAt),
      dueAt: new Date(v.expectedReturnAt.getTime() + minutes(rules.overdueGraceMinutes)),
    });
  }
  // Where the policy asks for an arrival call (Thames View 2.4 "call the school office to notify SLT
  // they have arrived safely"), it is due until the arrival is recorded ("I have arrived", or the
  // office recording it): a check-in before its deadline — pressed on the road, say — is no arrival
  // (nobody is told of one), so it never stands in for the call. One at or after the deadline
  // answers the missed call's alarm as it answers a missed check-in (the worker heard from and safe;
  // the office resolving the alarm records one), whether the watcher raised it first or not; the
  // call itself is still asked for on the phone page.
  const arrivalDueAt = rules.arrivalCheckInMinutes
    ? new Date(v.departedAt.getTime() + minutes(rules.arrivalCheckInMinutes + rules.checkInGraceMinutes))
    : null;
  const arrivalOwed =
    arrivalDueAt !== null && !v.arrivedAt && !(v.lastCheckInAt && v.lastCheckInAt >= arrivalDueAt);
  if (arrivalDueAt && arrivalOwed)
    out.push({ type: 'missed_check_in', dedupKey: arrivalAlarmKey(v.id), dueAt: arrivalDueAt });
  // Until then the arrival deadline stands in for the check-in clock — unless the worker has checked
  // in (before the visit, 3.10), which starts it: a worker who checks in but never says they have
  // arrived is still watched at every interval. From the arrival, check-ins count from it.
  const every = v.checkInMinutes ?? rules.checkInMinutes;
  if (every && (!arrivalOwed || v.lastCheckInAt)) {
    const last = Math.max(
      ...[v.lastCheckInAt, v.arrivedAt, v.departedAt].filter((d) => d !== null).map((d) => d.getTime()),
    );
    const expected = new Date(last + minutes(every));
    out.push({
      type: 'missed_check_in',
      dedupKey: `visit:${v.id}:missed-check-in:${expected.toISOString()}`,
      dueAt: new Date(expected.getTime() + minutes(rules.checkInGraceMinutes)),
    });
  }
  if (v.fob) {
    const heard = Math.max(v.departedAt.getTime(), v.fob.lastEventAt?.getTime() ?? 0);
    out.push({
      type: 'device_silent',
      dedupKey: `visit:${v.id}:device-silent:${new Date(heard).toISOString()}`,
      dueAt: new Date(heard + minutes(v.fob.silentMinutes)),
    });
  }
  return out;
}

/**
 * The alarms a worker who is out owes at `now`: overdue once the expected return (plus the policy's
 * grace) has passed; a missed arrival check-in where the policy asks for one; a missed check-in when
 * the interval since the last check-in (or the arrival, or the departure) has run out plus its grace.
 * Keys name the occurrence, so a watcher that runs twice, or two watchers, raise each alarm once.
 * Nothing is owed once the worker is back safe. Pure.
 */
export function dueVisitAlarms(v: WatchedVisit, rules: VisitRules, now: Date): DueVisitAlarm[] {
  return visitDeadlines(v, rules).filter((d) => now >= d.dueAt);
}

/**
 * Whether a check-in made at `at` — a fob's, perhaps held by the fob without signal and delivered
 * late — still says the worker is within their check-in clock `now`: the next check-in it would set
 * is not yet overdue. One that does not (made before a deadline, delivered after it) clears no missed
 * check-in and does not move the clock: nothing has been heard from the worker since, and the alarm
 * stands at its step. Where the visit has no check-in interval, any check-in counts.
 */
export function checkInStillCounts(
  at: Date,
  checkInMinutes: number | null,
  rules: VisitRules,
  now: Date,
): boolean {
  const every = checkInMinutes ?? rules.checkInMinutes;
  if (!every) return true;
  return at.getTime() + minutes(every + rules.checkInGraceMinutes) > now.getTime();
}

/** What a check-in does to the visit's open missed check-ins (`checkInTaken`). */
export type CheckInTaken =
  /** Too late to say anything of the worker now: it moves no clock, and every missed check-in stands. */
  | { counts: false }
  | {
      counts: true;
      /** The missed check-ins still owed with it taken: their alarms stand; every other one it answers. */
      stillOwed: DueVisitAlarm[];
    };

/**
 * What a check-in made at `at` and taken at `now` — a fob's, perhaps held by the fob without signal
 * and delivered late — does to the open missed check-ins of `v` (the visit as it was before it): one
 * that no longer meets the check-in clock (`checkInStillCounts`) answers none; one that does moves
 * the last check-in to `at` (unless one later is recorded) and answers every missed check-in the visit
 * no longer owes with it taken (`dueVisitAlarms`) — never one it still owes: the arrival call's,
 * for a check-in made before that was due (no arrival: it never stands in for the call), stands
 * whenever it is delivered. Pure.
 */
export function checkInTaken(v: WatchedVisit, at: Date, rules: VisitRules, now: Date): CheckInTaken {
  if (!checkInStillCounts(at, v.checkInMinutes, rules, now)) return { counts: false };
  const lastCheckInAt = v.lastCheckInAt && v.lastCheckInAt > at ? v.lastCheckInAt : at;
  const stillOwed = dueVisitAlarms({ ...v, lastCheckInAt }, rules, now).filter(
    (d) => d.type === 'missed_check_in',
  );
  return { counts: true, stillOwed };
}

/** When the watcher next raises something for this visit (null: nothing more is owed before one is raised). */
export function nextVisitCheck(v: WatchedVisit, rules: VisitRules, now: Date): Date | null {
  const future = visitDeadlines(v, rules)
    .map((d) => d.dueAt.getTime())
    .filter((t) => t > now.getTime());
  return future.length ? new Date(Math.min(...future)) : null;
}
