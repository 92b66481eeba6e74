import { addDays } from '../../attendance/dates.ts';
import type { EvaluationCaches, EvaluationContext, RuleOutcome } from '../finding.ts';
import type { PupilAttendance } from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

/**
 * A pupil off roll → a children-missing-education check, while the leaving date is at most
 * `withinDays` calendar days before today. The episode lasts that window and then closes; the same
 * leaving never raises it again (a pupil who returns and leaves again is a new leaving date).
 */
export function leftRoll(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'left-roll' }>,
  _todayIndex: number,
  ctx: EvaluationContext,
  _ev: EvaluationCaches,
): RuleOutcome {
  const left = p.leaving;
  if (!left || left.on > ctx.today) {
    return {
      fired: false,
      evidence: {},
      explanation: !ctx.explain ? '' : left ? `leaves the roll on ${left.on}` : 'on roll',
    };
  }
  if (addDays(left.on, rule.withinDays) < ctx.today) {
    return {
      fired: false,
      evidence: {},
      explanation: !ctx.explain
        ? ''
        : `left the roll on ${left.on}, more than ${rule.withinDays} days ago (checked then)`,
    };
  }
  return {
    fired: true,
    evidence: {
      from: left.on,
      leftOn: left.on,
      ...(left.destination ? { destination: left.destination } : {}),
    },
    explanation: left.destination
      ? `left the roll on ${left.on}; the MIS gives the destination as ${left.destination}: confirm the pupil is on roll there`
      : `left the roll on ${left.on} with no destination in the MIS: find where the pupil has gone, or tell the local authority`,
  };
}
