import { addDays } from '../../attendance/dates.ts';
import { type EvaluationCaches, type EvaluationContext, pct, type RuleOutcome } from '../finding.ts';
import type { PupilAttendance } from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

export function attendanceRate(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'attendance-rate' }>,
  todayIndex: number,
  ctx: EvaluationContext,
  ev: EvaluationCaches,
): RuleOutcome {
  const windowFrom = ev.windowStart(ctx, rule.window);
  const first = ev.firstIndexFrom(p.calendar, windowFrom);
  const { possible, attended } = ev.sessionCounts(p, first, todayIndex);
  const to = p.calendar.days[todayIndex] ?? ctx.today;
  // Over the whole window, the pupil's register is what is judged: its `from` is never a day before
  // the pupil was on roll (a window that opens in the summer holiday for a pupil new in September).
  const onRollDay = rule.wholeWindow ? p.firstOnRollDay() : -1;
  const onRollFrom = onRollDay >= 0 ? p.calendar.days[onRollDay]! : null;
  const from = onRollFrom !== null && onRollFrom > windowFrom && onRollFrom <= to ? onRollFrom : windowFrom;
  const uncovered = rule.wholeWindow
    ? windowUncovered(p, windowFrom, Math.max(0, first), todayIndex, onRollDay)
    : null;
  if (uncovered) {
    return {
      fired: false,
      evidence: { from, to, possible, attended },
      explanation: !ctx.explain ? '' : `not judged over the window from ${windowFrom}: ${uncovered}`,
    };
  }
  if (possible < rule.minSessions) {
    return {
      fired: false,
      evidence: { from, to, possible, attended },
      explanation: !ctx.explain
        ? ''
        : `only ${possible} possible session(s) since ${from}; the rule needs ${rule.minSessions}`,
    };
  }
  const rate = attended / possible;
  const fired = rule.inclusive ? rate <= rule.threshold : rate < rule.threshold;
  if (!fired && !ctx.explain) return { fired, evidence: {}, explanation: '' };
  const evidence = { from, to, possible, attended, rate: Number(rate.toFixed(4)) };
  return {
    fired,
    evidence,
    explanation: `attendance ${pct(rate)} (${attended}/${possible} sessions) from ${from} to ${to}; threshold ${rule.inclusive ? 'at most' : 'below'} ${pct(rule.threshold)}`,
  };
}

/** The longest gap between two school days the calendar may hold (the summer holiday): longer, it does not know the days between. */
const LONGEST_HOLIDAY_DAYS = 63;

/** School days, from the window's first, in which the register must show the pupil on roll. */
const FIRST_WEEK_SCHOOL_DAYS = 5;

/**
 * Why the pupil's register does not cover the window from `from` (null: it does), read from the
 * register itself: the calendar does not know the school days at its start (its first school day in
 * the window is more than a week after `from`, and the one before it further back than a summer
 * holiday); the pupil's first day on roll (`onRollDay`, `PupilAttendance.onRoll`: any mark but `Z`, a
 * part-time timetable `C2` or a day at the school they are dual registered with `D` among them) is
 * after the window's first school day (they joined since: a window that opens in July is not covered
 * by a register that begins in September); or the pupil is not on roll in the window's first school
 * week (off roll then). Days the register says the school was closed (`#`, `Y4`) are passed over: the
 * window's first school day is the first the school met.
 */
function windowUncovered(
  p: PupilAttendance,
  from: string,
  first: number,
  todayIndex: number,
  onRollDay: number,
): string | null {
  const days = p.calendar.days;
  const start = days[first];
  if (start === undefined) return 'the calendar has no school day in it';
  const prior = first > 0 ? days[first - 1] : undefined;
  if (start > addDays(from, 7) && (prior === undefined || start > addDays(prior, LONGEST_HOLIDAY_DAYS)))
    return `the school calendar does not know the school days at its start (its first is ${start})`;
  let met = first;
  while (met <= todayIndex && p.schoolClosedDay(met)) met++;
  if (met > todayIndex) return 'the register has the school closed on every school day of it';
  if (onRollDay < 0 || onRollDay > met)
    return `the pupil's register begins later (${onRollDay < 0 ? 'never on roll' : `on roll from ${days[onRollDay]}`}) than the window's first school day, ${days[met]}`;
  for (let d = met, n = 0; d <= todayIndex && n < FIRST_WEEK_SCHOOL_DAYS; d++) {
    if (p.schoolClosedDay(d)) continue;
    if (p.onRoll(d)) return null;
    n++;
  }
  return `not on roll in its first school week (from ${days[met]}): no mark but Z, or none`;
}
