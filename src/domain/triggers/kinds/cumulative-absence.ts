import type { EvaluationCaches, EvaluationContext, Evidence, RuleOutcome } from '../finding.ts';
import { NOT_POSSIBLE, NOT_SEEN, type PupilAttendance } from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

/**
 * Session `s` is no possible session for the count: marked with a code the statutory table counts as
 * not possible (`D` at the school the pupil is dual registered with, `X`, `Q`, `Y1`–`Y7`, `Z`, `#`).
 * A part-time timetable's `C2` and study leave's `S` are authorised absences — possible sessions, as
 * the 10-day return reads them too — so a morning ill with the afternoon `C2` is half a school day.
 */
function notPossible(p: PupilAttendance, s: number): boolean {
  return NOT_POSSIBLE[p.slots[s]!] === 1;
}

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
  // School days: each day's sessions in the codes over the pupil's possible sessions that day — a
  // day whose one possible session is coded so (its other not possible: `D` at the school they are
  // dual registered with, `X`, a closure: `notPossible`) is a whole day; a day with one of two so
  // coded is half of one. A session with no mark (this afternoon's, before its register) is possible.
  let halves = 0;
  let firstDay = -1;
  for (let d = Math.max(0, first); d <= todayIndex; d++) {
    const am = set[p.slots[d * 2]!] === 1;
    const pm = set[p.slots[d * 2 + 1]!] === 1;
    if (!am && !pm) continue;
    if (firstDay < 0) firstDay = d;
    halves += am && pm ? 2 : notPossible(p, am ? d * 2 + 1 : d * 2) ? 2 : 1;
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
  const days = halves / 2;
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
