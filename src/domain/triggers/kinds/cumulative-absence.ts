import type { EvaluationCaches, EvaluationContext, Evidence, RuleOutcome } from '../finding.ts';
import { NOT_SEEN, type PupilAttendance } from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

export function cumulativeAbsence(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'cumulative-absence' }>,
  todayIndex: number,
  ctx: EvaluationContext,
  ev: EvaluationCaches,
): RuleOutcome {
  const set = ev.setFor(rule, NOT_SEEN);
  const from = ev.windowStart(ctx, 'academic-year');
  const first = ev.firstIndexFrom(p.calendar, from);
  let sessions = 0;
  let firstDay = -1;
  for (let i = first * 2; i <= todayIndex * 2 + 1; i++) {
    if (set[p.slots[i]!] === 1) {
      sessions++;
      if (firstDay < 0) firstDay = i >> 1;
    }
  }
  const days = sessions / 2;
  const evidence: Evidence = { from, to: p.calendar.days[todayIndex] ?? ctx.today, count: days };
  if (days < rule.days) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain
        ? ''
        : `${days} school day(s) coded ${rule.codes.join('/')} this academic year; the rule needs ${rule.days}`,
    };
  }
  return {
    fired: true,
    evidence: { ...evidence, from: p.calendar.days[firstDay]! },
    explanation: `${days} school ${days === 1 ? 'day' : 'days'} coded ${rule.codes.join('/')} this academic year (consecutive or not)`,
  };
}
