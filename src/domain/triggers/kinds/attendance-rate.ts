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
  const from = ev.windowStart(ctx, rule.window);
  const first = ev.firstIndexFrom(p.calendar, from);
  const { possible, attended } = ev.sessionCounts(p, first, todayIndex);
  const to = p.calendar.days[todayIndex] ?? ctx.today;
  const uncovered = rule.wholeWindow ? windowUncovered(p, from, Math.max(0, first), todayIndex) : null;
  if (uncovered) {
    return {
      fired: false,
      evidence: { from, to, possible, attended },
      explanation: !ctx.explain ? '' : `not judged over the window from ${from}: ${uncovered}`,
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

/**
 * Why the pupil's register does not cover the window from `from` (null: it does): the calendar does
 * not know the school days at its start (its first school day in the window is more than a week
 * after `from`, and the one before it further back than a summer holiday), or the pupil has no mark
 * in the window's first school week (they joined since).
 */
function windowUncovered(p: PupilAttendance, from: string, first: number, todayIndex: number): string | null {
  const days = p.calendar.days;
  const start = days[first];
  if (start === undefined) return 'the calendar has no school day in it';
  const prior = first > 0 ? days[first - 1] : undefined;
  if (start > addDays(from, 7) && (prior === undefined || start > addDays(prior, LONGEST_HOLIDAY_DAYS)))
    return `the school calendar does not know the school days at its start (its first is ${start})`;
  // A session that counts (`hasMark`): not a closure or a not-possible code such as Z (not yet on roll).
  for (let d = first; d < first + 5 && d <= todayIndex; d++) if (p.hasMark(d)) return null;
  return `no mark in its first school week (from ${start}): the pupil's register begins later`;
}
