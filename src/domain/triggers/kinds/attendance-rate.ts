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
  const { possible, attended } = ev.sessionCounts(p, ev.firstIndexFrom(p.calendar, from), todayIndex);
  const to = p.calendar.days[todayIndex] ?? ctx.today;
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
