import { TriggerEvaluator } from './evaluator.ts';
import type { EvaluationContext, Finding, RuleInPack } from './finding.ts';
import type { PupilAttendance } from './pupil-attendance.ts';

/**
 * Evaluates every rule for one pupil. Pure: same marks, calendar and day → same findings. Pass the
 * evaluator of the run when evaluating many pupils, so its caches are shared between them.
 */
export function evaluatePupil(
  p: PupilAttendance,
  rules: readonly RuleInPack[],
  ctx: EvaluationContext,
  evaluator: TriggerEvaluator = new TriggerEvaluator(),
): Finding[] {
  return evaluator.evaluatePupil(p, rules, ctx);
}
