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
  // The latest continuous period of these codes: school days in a row with a session so coded (a day
  // with no counting session neither extends nor ends it).
  let period: { from: number; to: number } | null = null;
  if (rule.perPeriod) {
    let open: { from: number; to: number } | null = null;
    for (let d = Math.max(0, first); d <= todayIndex; d++) {
      if (!p.hasMark(d)) continue;
      if (p.anyMarkedIn(d, set)) {
        open = open ? { from: open.from, to: d } : { from: d, to: d };
        period = open;
      } else open = null;
    }
  }
  const days = sessions / 2;
  const evidence: Evidence = {
    from,
    to: p.calendar.days[todayIndex] ?? ctx.today,
    count: days,
    codes: [...rule.codes],
  };
  if (days < rule.days) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain
        ? ''
        : `${days} school day(s) coded ${rule.codes.join('/')} this academic year; the rule needs ${rule.days}`,
    };
  }
  const latest = period
    ? { from: p.calendar.days[period.from]!, to: p.calendar.days[period.to]! }
    : undefined;
  return {
    fired: true,
    evidence: { ...evidence, from: p.calendar.days[firstDay]!, ...(latest ? { period: latest } : {}) },
    explanation: `${days} school ${days === 1 ? 'day' : 'days'} coded ${rule.codes.join('/')} this academic year (consecutive or not)${latest ? `; this period from ${latest.from}${latest.to !== latest.from ? ` to ${latest.to}` : ''}` : ''}`,
  };
}
