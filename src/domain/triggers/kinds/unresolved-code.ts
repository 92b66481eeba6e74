import { addDays } from '../../attendance/dates.ts';
import {
  type EvaluationCaches,
  type EvaluationContext,
  type Evidence,
  MAX_EVIDENCE_DAYS,
  type RuleOutcome,
} from '../finding.ts';
import { codeNumber, type PupilAttendance } from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

/** How far before the academic year's start a mark may be and fall due in it: the summer holiday and a week. */
const SUMMER_LOOKBACK_DAYS = 70;

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
  // Those whose time ran out this academic year: one overdue already in a year before keeps no
  // episode open now, but an N from the last days of the summer term is due in September.
  // (By the calendar's school days, and only from the summer term's last weeks: a calendar that does
  // not know last year's terms would otherwise make December's N five days before September.)
  const start = ev.windowStart(ctx, 'academic-year');
  const yearStart = ev.firstIndexFrom(p.calendar, start);
  const first = Math.max(
    yearStart > 0 ? p.schoolDaysBefore(yearStart - 1, rule.afterSchoolDays) + 1 : 0,
    ev.firstIndexFrom(p.calendar, addDays(start, -SUMMER_LOOKBACK_DAYS)),
  );
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
      // Only this academic year's (and the summer term's last days') are looked at: an N whose five
      // days ran out in an earlier year is not "none" — say what was looked at.
      explanation: !ctx.explain
        ? ''
        : `no ${rule.code} due this academic year still coded ${rule.code} ${rule.afterSchoolDays} or more school days later (one due in an earlier year is not looked at: by then it counts as O)`,
    };
  }
  return {
    fired: true,
    evidence: {
      sessions: sessions.slice(-MAX_EVIDENCE_DAYS),
      count: sessions.length,
      from: sessions[0]!.date,
    },
    // On the last of those school days (today, the mark's own day not counted) or later: the day by
    // which it must be replaced has come, not passed — said as such, never "more than".
    explanation: `${sessions.length} session(s) still coded ${rule.code} ${rule.afterSchoolDays} or more school days later (first ${sessions[0]!.date})`,
  };
}
