import {
  type DayEvidence,
  dayEvidence,
  type EvaluationCaches,
  type EvaluationContext,
  type Evidence,
  MAX_EVIDENCE_DAYS,
  type RuleOutcome,
} from '../finding.ts';
import { ABSENCE, AUTHORISED, type PupilAttendance } from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

function absenceRun(
  p: PupilAttendance,
  set: Uint8Array,
  todayIndex: number,
): { start: number; end: number } | null {
  const end = p.lastMarkedDay(todayIndex);
  if (end < 0 || !p.allMarkedIn(end, set)) return null;
  let start = end;
  while (start > 0 && p.allMarkedIn(start - 1, set)) start--;
  return { start, end };
}

function runEvidence(p: PupilAttendance, run: { start: number; end: number }): Evidence {
  const days: DayEvidence[] = [];
  for (let d = Math.max(run.start, run.end - MAX_EVIDENCE_DAYS + 1); d <= run.end; d++)
    days.push(dayEvidence(p, d));
  return {
    from: p.calendar.days[run.start]!,
    to: p.calendar.days[run.end]!,
    count: run.end - run.start + 1,
    days,
  };
}

export function consecutiveAbsence(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'consecutive-absence' }>,
  todayIndex: number,
  ctx: EvaluationContext,
  ev: EvaluationCaches,
): RuleOutcome {
  // "No reason recorded" counts only the days on which no reason was given: a day with a reason
  // ends the unanswered run (and so a present mark can never lengthen a run).
  const set = rule.noReasonRecorded ? ev.noReasonSet(ev.setFor(rule, ABSENCE)) : ev.setFor(rule, ABSENCE);
  const run = absenceRun(p, set, todayIndex);
  const n = run ? run.end - run.start + 1 : 0;
  const fires = run !== null && n >= rule.days && (!rule.flags || p.hasAnyFlag(rule.flags));
  const evidence = run && (fires || ctx.explain) ? runEvidence(p, run) : {};
  if (rule.flags && !p.hasAnyFlag(rule.flags)) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain ? '' : `the pupil has none of the flags ${rule.flags.join(', ')}`,
    };
  }
  if (!run || n < rule.days) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain
        ? ''
        : `absent ${n} school day(s) in a row${rule.noReasonRecorded ? ' with no reason recorded' : ''}; the rule needs ${rule.days}`,
    };
  }
  let reasoned = true;
  for (let d = run.start; d <= run.end && reasoned; d++) reasoned = p.anyMarkedIn(d, AUTHORISED);
  const concern = p.hasAnyFlag(['welfareConcern', 'cpPlan', 'cin', 'lac']);
  const lighter = rule.whenReasonedEachDay && reasoned && !concern ? rule.whenReasonedEachDay : undefined;
  return {
    fired: true,
    evidence,
    explanation: `absent ${n} school days in a row (${evidence.from} to ${evidence.to})${
      lighter ? '; a reason was recorded for each day and there is no concern flag' : ''
    }`,
    ...(lighter ? { action: lighter.action, role: lighter.role } : {}),
  };
}
