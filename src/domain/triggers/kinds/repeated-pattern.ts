import {
  type DayEvidence,
  dayEvidence,
  type EvaluationCaches,
  type EvaluationContext,
  type RuleOutcome,
} from '../finding.ts';
import { NOT_SEEN, type PupilAttendance } from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

export function repeatedPattern(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'repeated-pattern' }>,
  todayIndex: number,
  ctx: EvaluationContext,
  ev: EvaluationCaches,
): RuleOutcome {
  // The pack names the absences it means (Heath Lane: holiday, illness, no reason — not the reasons
  // the school authorised or arranged); default: every absence code but `U`.
  const set = ev.setFor(rule, NOT_SEEN);
  const before = rule.lastYearCodes ? ev.setFor({ codes: rule.lastYearCodes }, set) : set;
  const matches: DayEvidence[] = [];
  const lastYear = new Set<string>();
  // The last `recentSchoolDays` school days (days the register marks as a whole-school closure are none).
  for (let d = Math.max(0, p.schoolDaysBefore(todayIndex, rule.recentSchoolDays - 1)); d <= todayIndex; d++) {
    if (!p.allMarkedIn(d, set)) continue;
    // The same week 52 weeks earlier (same weekdays, so the same week of the school year).
    let hit = false;
    for (const i of ev.lastYearWeek(p.calendar, d)) {
      if (p.allMarkedIn(i, before)) {
        lastYear.add(p.calendar.days[i]!);
        hit = true;
      }
    }
    if (hit) matches.push(dayEvidence(p, d));
  }
  if (matches.length < rule.minDays) {
    return {
      fired: false,
      evidence: {},
      explanation: !ctx.explain
        ? ''
        : `${matches.length} recent absent day(s) fall in weeks absent last year; the rule needs ${rule.minDays}`,
    };
  }
  const years = [...lastYear].sort();
  return {
    fired: true,
    evidence: {
      from: matches[0]!.date,
      to: matches.at(-1)!.date,
      count: matches.length,
      days: matches,
      lastYear: years,
    },
    explanation: `${matches.length} absent day(s) from ${matches[0]!.date} fall in the same weeks as absence a year earlier (${years.join(', ')})`,
  };
}
