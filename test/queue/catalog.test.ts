import { describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_POLICY, decideStep } from '../../src/domain/escalation/ladder.ts';
import { catalog } from '../../src/queue/catalog.ts';

describe('the escalate job’s payload', () => {
  it('takes any step a ladder can reach: one repeating its last level every few seconds never meets a bound and falls silent', () => {
    const escalate = catalog.jobs.escalate.payload;
    // A last level every 0.6 s reaches step 100,000 in under 17 hours; the ladder still decides a step there.
    for (const step of [0, 100_001, 10_000_000]) {
      expect(decideStep(DEFAULT_ALARM_POLICY, step, 'open').kind).toBe('notify');
      expect(escalate.safeParse({ alarmId: '1', step }).success).toBe(true);
    }
    // Beyond what the alarm's step column (PostgreSQL integer) holds, and nonsense, is refused.
    for (const step of [2_147_483_648, -1, 1.5])
      expect(escalate.safeParse({ alarmId: '1', step }).success).toBe(false);
  });
});
