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
 *  - a visit that runs longer is not stopped: the worker (or the office, after speaking to them)
 *    sets a new return time, again within 4 hours of then — each time audited and told to the people
 *    the school names (`notices.changed`), so someone confirms the worker is safe at least every
 *    4 hours.
 * The bound counts from now, not from the old return time, so a worker already overdue can still
 * set a return up to 4 hours on.
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
