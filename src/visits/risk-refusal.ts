import type { VisitAction } from '../domain/visits/lifecycle.ts';
import { RISK_ORDER, type RiskLevel, type VisitRules } from '../domain/visits/rules.ts';

/**
 * A visit the school's policy says must not go ahead at its risk level (`refuseAtRisk`, Hampton's and
 * Heath Lane's "unacceptable level of risk"): the departure checks say "risk is major: the policy says
 * no visit at this level", and the visit page offers no leaving form but this — the policy's words, and
 * what to do instead, for this person (what the lifecycle lets them do: `actions`).
 */
export interface RiskRefusal {
  /** The level leaving is checked against (the assessed one, raised by any address flag). */
  level: RiskLevel;
  /** The level was raised to it by an address flag, above the assessed one. */
  raisedByFlag: boolean;
  /** The policy's own words for its risk assessment, where the pack quotes them. */
  policy: string | null;
  /** What to do instead, in order. */
  steps: string[];
}

/** Whether, and why, the policy refuses the visit at `effective`; null when it does not. Pure. */
export function riskRefusalFor(
  rules: Pick<VisitRules, 'refuseAtRisk' | 'risk'>,
  assessed: RiskLevel,
  effective: RiskLevel,
  actions: readonly VisitAction[],
): RiskRefusal | null {
  if (!rules.refuseAtRisk || RISK_ORDER[effective] < RISK_ORDER[rules.refuseAtRisk]) return null;
  const raisedByFlag = RISK_ORDER[effective] > RISK_ORDER[assessed];
  const assessors = rules.risk.assessedBy.join(' or ');
  const steps = [
    `Do not go: the school's policy says no home visit at a ${effective.toUpperCase()} risk.`,
    raisedByFlag
      ? `The address flag raised the risk to ${effective.toUpperCase()} (assessed ${assessed.toUpperCase()}): if the flag no longer holds, safeguarding removes it, saying why.`
      : actions.includes('assess-risk')
        ? 'If the risk has changed, reassess it above.'
        : `If the risk has changed, ask ${assessors} to reassess it.`,
    'Refer it to the safeguarding team (the DSL): they decide what is done instead of a home visit.',
    actions.includes('cancel')
      ? 'Then cancel this visit below, giving the reason.'
      : 'Then whoever asked for it, the office or safeguarding cancels this visit.',
  ];
  return { level: effective, raisedByFlag, policy: rules.risk.source ?? null, steps };
}
