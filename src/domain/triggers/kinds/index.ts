import type { EvaluationCaches, EvaluationContext, RuleOutcome } from '../finding.ts';
import type { PupilAttendance } from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';
import { attendanceRate } from './attendance-rate.ts';
import { consecutiveAbsence } from './consecutive-absence.ts';
import { cumulativeAbsence } from './cumulative-absence.ts';
import { illnessDuringRefusedLeave } from './illness-during-refused-leave.ts';
import { leftRoll } from './left-roll.ts';
import { repeatedPattern } from './repeated-pattern.ts';
import { unresolvedCode } from './unresolved-code.ts';

export type RuleKind = Rule['kind'];

/** How one rule kind reads one pupil's attendance. */
export type RuleKindEvaluator<K extends RuleKind> = (
  p: PupilAttendance,
  rule: Extract<Rule, { kind: K }>,
  todayIndex: number,
  ctx: EvaluationContext,
  ev: EvaluationCaches,
) => RuleOutcome;

/** Every rule kind a policy pack may use (`rules.ts`), each with its evaluator. */
export const RULE_KINDS: { readonly [K in RuleKind]: RuleKindEvaluator<K> } = {
  'consecutive-absence': consecutiveAbsence,
  'attendance-rate': attendanceRate,
  'unresolved-code': unresolvedCode,
  'cumulative-absence': cumulativeAbsence,
  'repeated-pattern': repeatedPattern,
  'illness-during-refused-leave': illnessDuringRefusedLeave,
  'left-roll': leftRoll,
};
