import { londonDate, londonMinutes } from '../attendance/dates.ts';

/**
 * How far ahead a worker's return time may be set, counted from the moment it is set: the expected
 * return given at departure, and each new one given when running late. One bound for both, because
 * both set the same deadline — the overdue watch — and in most packs (Hampton, Heath Lane, Lime
 * Hills, King's Gomer) it is the only deadline a worker out has: a return time set a day or a week
 * ahead leaves them unwatched for that long ("a worker out is always watched").
 *
 * 4 hours (240 minutes) because:
 *  - it is the longest the register already lets a worker go between deadlines: a pack's check-in
 *    interval and the API's are at most 240 minutes (`checkInMinutes` in rules.ts), and so is the
 *    overdue grace;
 *  - a home visit is an hour or so, and the policies' visiting day is at most 08:00–18:00;
 *  - a visit that runs longer is not stopped: a new return time is set (running late), again
 *    within 4 hours of then. Each is audited, and told to the people the school names
 *    (`notices.changed`) — which in most packs is nobody. So what makes someone other than the worker
 *    confirm them safe at least every 4 hours is `runningLateProblem` below: a worker setting their
 *    own time may not go past 4 hours after the last time someone else confirmed them (the
 *    departure, or the office recording a running late, check-in or arrival for them, or resolving
 *    their alarm after speaking to them); beyond it they call the office (Hampton: "contact the
 *    Office to advise of their expected return time"), who sets the new time after speaking to them.
 * The bound counts from now, not from the old return time, so a worker already overdue can still
 * set a return up to 4 hours on (within the bound above when they set it themselves).
 */
export const MAX_RETURN_AHEAD_MINUTES = 240;

const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** A London wall-clock time, with its date when that is not `now`'s London date. */
function londonClock(at: Date, now: Date): string {
  const date = londonDate(at);
  return `${hhmm(londonMinutes(at))}${date === londonDate(now) ? '' : ` on ${date}`}`;
}

/**
 * Why a return time set at `now` is refused (null: it is allowed): it must be in the future and at
 * most `MAX_RETURN_AHEAD_MINUTES` after `now`. The message names what is allowed. Pure.
 */
export function returnTimeProblem(at: Date, now: Date): string | null {
  const latest = new Date(now.getTime() + MAX_RETURN_AHEAD_MINUTES * 60_000);
  const allowed = `a time after ${londonClock(now, now)} and no later than ${londonClock(latest, now)} (London time, at most ${MAX_RETURN_AHEAD_MINUTES / 60} hours from now; set a new one when running late)`;
  if (Number.isNaN(at.getTime())) return `expected ${allowed}`;
  if (at.getTime() <= now.getTime())
    return `${londonClock(at, now)} is not in the future: expected ${allowed}`;
  if (at.getTime() > latest.getTime()) return `${londonClock(at, now)} is too far ahead: expected ${allowed}`;
  return null;
}

/**
 * Why a new return time (running late) set at `now` is refused (null: it is allowed). Whoever sets
 * it, `returnTimeProblem`. Set by the worker themselves (`bySelf`: the lead or the partner, from
 * their phone) it may also be at most `MAX_RETURN_AHEAD_MINUTES` after `bySelf.confirmedAt`: the
 * last time a person other than them confirmed them (the departure, a running late, check-in or
 * arrival the office recorded for them, or their alarm the office resolved after speaking to them) —
 * a worker cannot keep themselves out, 4 hours at a time, with nobody ever speaking to them. Beyond it they are told to call the office (`bySelf.office`:
 * the number, when the school gives one), who sets the new time after speaking to them; the office's
 * own time is bounded by `returnTimeProblem` alone. Pure.
 */
/**
 * The latest return time the worker may set themselves (running late): `MAX_RETURN_AHEAD_MINUTES`
 * after `confirmedAt`, the last time someone other than them confirmed them (runningLateProblem).
 */
export function ownReturnTimeLatest(confirmedAt: Date): Date {
  return new Date(confirmedAt.getTime() + MAX_RETURN_AHEAD_MINUTES * 60_000);
}

/**
 * At `now`, no return time of the worker's own is left to set: a new one must be after now and no
 * later than `ownReturnTimeLatest`, which has come. They call the office, who sets it. Pure.
 */
export function ownReturnTimeClosed(confirmedAt: Date, now: Date): boolean {
  return ownReturnTimeLatest(confirmedAt).getTime() <= now.getTime();
}

export function runningLateProblem(
  at: Date,
  now: Date,
  bySelf: { confirmedAt: Date; office: string | null } | null,
): string | null {
  const problem = returnTimeProblem(at, now);
  if (problem || !bySelf) return problem;
  const latest = ownReturnTimeLatest(bySelf.confirmedAt);
  if (at.getTime() <= latest.getTime()) return null;
  const call = `call the office${bySelf.office ? ` on ${bySelf.office}` : ''}: they set your new return time after speaking to you`;
  const since = `${londonClock(bySelf.confirmedAt, now)}, when someone other than you last confirmed you safe (leaving, or the office)`;
  return !ownReturnTimeClosed(bySelf.confirmedAt, now)
    ? `${londonClock(at, now)} is more than ${MAX_RETURN_AHEAD_MINUTES / 60} hours after ${since}: set one no later than ${londonClock(latest, now)}, or ${call}`
    : `you have been out more than ${MAX_RETURN_AHEAD_MINUTES / 60} hours since ${since}: ${call}`;
}
