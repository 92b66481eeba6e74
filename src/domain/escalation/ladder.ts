import * as z from 'zod';

/**
 * Escalation policy: ordered levels, each with the targets to notify and the wait before it (after
 * the previous level; the first after the alarm is raised); a condition that must still hold for a
 * level to fire; and how many times the whole ladder repeats. The policy is snapshotted onto the
 * alarm when it is raised, so a config change never alters an alarm in progress. Pure.
 */
export const escalationLevel = z.strictObject({
  afterMinutes: z.number().min(0, { error: 'expected minutes >= 0' }),
  notify: z
    .array(
      z.string().regex(/^[a-z-]+(:[a-z0-9-]+)?$/, {
        error: 'expected a target such as board or sms:on-call-leaders',
      }),
    )
    .min(1, {
      error: 'expected at least one target',
    }),
});

export const escalationPolicy = z.strictObject({
  condition: z.enum(['if-not-acknowledged', 'if-not-resolved']).default('if-not-acknowledged'),
  levels: z.array(escalationLevel).min(1, { error: 'expected at least one level' }),
  /** Times the whole ladder runs again after its last level (0: once). */
  repeat: z.int().min(0).max(9).default(0),
});
export type EscalationPolicy = z.output<typeof escalationPolicy>;

/** The seeds' default for SOS, fall and duress: board + SMS to on-call leaders at once, then leadership after 2 minutes. */
export const DEFAULT_ALARM_POLICY: EscalationPolicy = {
  condition: 'if-not-acknowledged',
  levels: [
    { afterMinutes: 0, notify: ['board', 'sms:on-call-leaders'] },
    { afterMinutes: 2, notify: ['board', 'sms:senior-leadership'] },
  ],
  repeat: 3,
};

export type AlarmState = 'open' | 'acknowledged' | 'resolved';

export type StepDecision =
  | {
      kind: 'notify';
      level: number;
      round: number;
      targets: string[];
      next: { step: number; delayMs: number } | null;
    }
  | { kind: 'stop'; reason: string };

/**
 * What step `step` of the ladder does for an alarm in `state`: notify a level's targets (and when
 * the next step is due), or stop — because the condition no longer holds or the ladder has run out.
 */
export function decideStep(policy: EscalationPolicy, step: number, state: AlarmState): StepDecision {
  if (state === 'resolved') return { kind: 'stop', reason: 'resolved' };
  if (state === 'acknowledged' && policy.condition === 'if-not-acknowledged')
    return { kind: 'stop', reason: 'acknowledged' };
  const n = policy.levels.length;
  const round = Math.floor(step / n);
  if (round > policy.repeat) return { kind: 'stop', reason: 'the ladder ran out' };
  const level = step % n;
  const nextStep = step + 1;
  const nextRound = Math.floor(nextStep / n);
  const next =
    nextRound > policy.repeat
      ? null
      : { step: nextStep, delayMs: Math.round(policy.levels[nextStep % n]!.afterMinutes * 60_000) };
  return { kind: 'notify', level, round, targets: policy.levels[level]!.notify, next };
}

/** The policy for an event kind: the alarm type's own, else `alarm`, else the default. */
export function policyFor(
  policies: Readonly<Record<string, EscalationPolicy>>,
  type: string,
): EscalationPolicy {
  return policies[type] ?? policies.alarm ?? DEFAULT_ALARM_POLICY;
}
