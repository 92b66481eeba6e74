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
  if (rule.perContinuousPeriod) {
    // "One return per continuous period" (attendance.md, sickness): the period is the school days
    // in a row, ending with the latest marked one, each with a session so coded (days the register
    // marks as a whole-school closure neither count nor end it). Back at school: no period, and the
    // episode ends; a later separate period raises a new one.
    const end = p.lastMarkedDay(todayIndex);
    if (end < first || !p.anyMarkedIn(end, set)) {
      return {
        fired: false,
        evidence,
        explanation: !ctx.explain
          ? ''
          : `${days} school days coded ${rule.codes.join('/')} this academic year, but no continuous period of it lasts to the latest mark`,
      };
    }
    let start = end;
    for (let d = end - 1; d >= first; d--) {
      if (p.closedDay(d)) continue;
      if (!p.anyMarkedIn(d, set)) break;
      start = d;
    }
    const periodFrom = p.calendar.days[start]!;
    return {
      fired: true,
      evidence: { ...evidence, from: periodFrom, to: p.calendar.days[end]! },
      explanation: `${days} school ${days === 1 ? 'day' : 'days'} coded ${rule.codes.join('/')} this academic year (consecutive or not); this continuous period from ${periodFrom}`,
    };
  }
  return {
    fired: true,
    evidence: { ...evidence, from: p.calendar.days[firstDay]! },
    explanation: `${days} school ${days === 1 ? 'day' : 'days'} coded ${rule.codes.join('/')} this academic year (consecutive or not)`,
  };
}
