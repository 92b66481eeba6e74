import type { EvaluationCaches, EvaluationContext, Evidence, RuleOutcome } from '../finding.ts';
import { NOT_SEEN, type PupilAttendance } from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

export function illnessDuringRefusedLeave(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'illness-during-refused-leave' }>,
  todayIndex: number,
  ctx: EvaluationContext,
  ev: EvaluationCaches,
): RuleOutcome {
  const set = ev.setFor(rule, NOT_SEEN);
  const recentFrom = p.calendar.days[Math.max(0, p.schoolDaysBefore(todayIndex, rule.recentSchoolDays - 1))];
  const today = p.calendar.days[todayIndex];
  const sessions: NonNullable<Evidence['sessions']> = [];
  let period: { from: string; to: string } | undefined;
  for (const r of p.refusedLeave) {
    if (!recentFrom || !today || r.to < recentFrom || r.from > today) continue;
    const first = ev.firstIndexFrom(p.calendar, r.from);
    const last = Math.min(todayIndex, p.calendar.indexOnOrBefore(r.to));
    for (let d = first; d <= last; d++) {
      if (set[p.slots[d * 2]!] === 1)
        sessions.push({ date: p.calendar.days[d]!, session: 'AM', code: p.am(d) });
      if (set[p.slots[d * 2 + 1]!] === 1)
        sessions.push({ date: p.calendar.days[d]!, session: 'PM', code: p.pm(d) });
    }
    if (sessions.length) {
      period = r;
      break;
    }
  }
  if (!period) {
    return {
      fired: false,
      evidence: {},
      explanation: !ctx.explain
        ? ''
        : p.refusedLeave.length
          ? `no ${rule.codes.join('/')} during a recent refused leave period`
          : 'no term-time leave refusal recorded',
    };
  }
  return {
    fired: true,
    evidence: { from: period.from, to: period.to, sessions, count: sessions.length },
    explanation: `${sessions.length} session(s) coded ${rule.codes.join('/')} during ${period.from} to ${period.to}, a period for which term-time leave was refused`,
  };
}
