import {
  type EvaluationCaches,
  type EvaluationContext,
  type Evidence,
  MAX_EVIDENCE_DAYS,
  type RuleOutcome,
} from '../finding.ts';
import { codeNumber, type PupilAttendance } from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

export function unresolvedCode(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'unresolved-code' }>,
  todayIndex: number,
  ctx: EvaluationContext,
  ev: EvaluationCaches,
): RuleOutcome {
  const target = codeNumber(rule.code);
  // School days after the mark: days the register marks as a whole-school closure are none (the
  // school's days, not the pupil's timetable: a part-time pupil's N is due as anyone's).
  const last = p.schoolDaysBefore(todayIndex, rule.afterSchoolDays);
  // This academic year's: one left from a year before keeps no episode open now.
  const first = ev.firstIndexFrom(p.calendar, ev.windowStart(ctx, 'academic-year'));
  const sessions: NonNullable<Evidence['sessions']> = [];
  for (let d = Math.max(0, first); d <= last; d++) {
    if (p.slots[d * 2] === target)
      sessions.push({ date: p.calendar.days[d]!, session: 'AM', code: rule.code });
    if (p.slots[d * 2 + 1] === target)
      sessions.push({ date: p.calendar.days[d]!, session: 'PM', code: rule.code });
  }
  if (sessions.length === 0) {
    return {
      fired: false,
      evidence: {},
      explanation: !ctx.explain ? '' : `no ${rule.code} older than ${rule.afterSchoolDays} school days`,
    };
  }
  return {
    fired: true,
    evidence: {
      sessions: sessions.slice(-MAX_EVIDENCE_DAYS),
      count: sessions.length,
      from: sessions[0]!.date,
    },
    explanation: `${sessions.length} session(s) still coded ${rule.code} more than ${rule.afterSchoolDays} school days later (first ${sessions[0]!.date})`,
  };
}
