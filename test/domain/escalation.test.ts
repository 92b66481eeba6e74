import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPolicyPacks } from '../../src/config/policy-packs.ts';
import { alarmWarning } from '../../src/domain/escalation/delivery.ts';
import {
  DEFAULT_ALARM_POLICY,
  DEFAULT_DEVICE_SILENT_POLICY,
  DEFAULT_MISSED_CHECK_IN_POLICY,
  DEFAULT_OVERDUE_VISIT_POLICY,
  DEFAULT_REESCALATE_MINUTES,
  decideStep,
  describeTargets,
  type EscalationPolicy,
  escalationPolicy,
  nextStepOf,
  policyFor,
} from '../../src/domain/escalation/ladder.ts';
import { configWith } from '../helpers/config.ts';

const policy: EscalationPolicy = {
  condition: 'if-not-acknowledged',
  levels: [
    { afterMinutes: 0, notify: ['board', 'sms:on-call-leaders'] },
    { afterMinutes: 2, notify: ['sms:senior-leadership'] },
  ],
  repeat: 1,
};

describe('the acknowledgement timeout of a configured ladder', () => {
  const ladder = (extra: string) =>
    configWith({
      school: `    escalation:\n      alarm:\n${extra}        levels:\n          - { afterMinutes: 0, notify: [board] }\n`,
    }).schools[0]!.escalation.alarm!;
  it('is Doorstep’s default where a ladder that pauses when acknowledged names none; its own otherwise', () => {
    expect(ladder('').reescalateAfterMinutes).toBe(DEFAULT_REESCALATE_MINUTES);
    expect(ladder('        reescalateAfterMinutes: 3\n').reescalateAfterMinutes).toBe(3);
    // A ladder that runs until resolved is not paused by an acknowledgement: nothing to time out.
    expect(ladder('        condition: if-not-resolved\n').reescalateAfterMinutes).toBeUndefined();
  });
});

describe('escalation ladder', () => {
  it('walks the levels, repeats, then repeats its last level: it never runs out', () => {
    expect(decideStep(policy, 0, 'open')).toEqual({
      kind: 'notify',
      level: 0,
      round: 0,
      targets: ['board', 'sms:on-call-leaders'],
      next: { step: 1, delayMs: 120_000, aheadMs: 0 },
    });
    expect(decideStep(policy, 1, 'open')).toMatchObject({
      level: 1,
      round: 0,
      next: { step: 2, delayMs: 0 },
    });
    expect(decideStep(policy, 3, 'open')).toMatchObject({
      level: 1,
      round: 1,
      next: { step: 4, delayMs: 120_000 },
    });
    expect(decideStep(policy, 4, 'open')).toEqual({
      kind: 'notify',
      level: 1,
      round: 2,
      targets: ['sms:senior-leadership'],
      next: { step: 5, delayMs: 120_000, aheadMs: 0 },
    });
    expect(decideStep(policy, 40, 'open')).toMatchObject({ kind: 'notify', level: 1 });
  });

  // Found by review: a one-level ladder at 0 minutes with `repeat` ran every round in the same instant
  // (the same people paged four times at once, "no one has responded" a second after the raise).
  it('a ladder whose levels are all at once waits a minute between its rounds; others keep their own waits', () => {
    const timeline = (p: EscalationPolicy, steps: number) => {
      const at: number[] = [];
      let t = 0;
      for (let s = 0; s < steps; s++) {
        const d = decideStep(p, s, 'open');
        if (d.kind !== 'notify') throw new Error('stopped');
        at.push(t);
        t += d.next.delayMs;
      }
      return at;
    };
    const one = escalationPolicy.parse({
      repeat: 3,
      levels: [{ afterMinutes: 0, notify: ['board', 'sms:leaders'] }],
    });
    expect(timeline(one, 6)).toEqual([0, 60_000, 120_000, 180_000, 240_000, 300_000]);
    const two = escalationPolicy.parse({
      repeat: 1,
      levels: [
        { afterMinutes: 0, notify: ['board'] },
        { afterMinutes: 0, notify: ['sms:leaders'] },
      ],
    });
    expect(timeline(two, 5)).toEqual([0, 0, 60_000, 60_000, 120_000]);
    // Only the raise's instant has its first level: never "no one has responded" at once.
    expect(alarmWarning({ status: 'open', step: 1, reopened: false, notifications: [] })).toBeNull();
    // A ladder with a wait keeps it (the default: leadership 2 minutes on, then the next round).
    expect(timeline(policy, 4)).toEqual([0, 120_000, 120_000, 240_000]);
  });

  // Found in use: an SOS whose level-1 text failed had level 2 brought forward (right), and round 2's
  // level 1 — its wait after level 2 is its own 0 minutes — went in the same instant: the card said
  // "level 1 of 2 sent (round 2)" two seconds after the alarm, the same people texted again.
  it.each([
    // [ladder, the step brought forward, how far ahead (ms), the next step's wait, ahead carried on]
    [
      'level 2 brought forward 2 min: round 2 level 1 waits them back',
      DEFAULT_ALARM_POLICY,
      1,
      118_000,
      118_000,
      0,
    ],
    ['level 2 on time: round 2 level 1 at once, as planned', DEFAULT_ALARM_POLICY, 1, 0, 0, 0],
    ['level 1 of round 2 keeps its own wait to level 2', DEFAULT_ALARM_POLICY, 2, 0, 120_000, 0],
    [
      'a first-round level brought forward hastens the next first-round level, carrying the time gained',
      escalationPolicy.parse({
        repeat: 1,
        levels: [
          { afterMinutes: 0, notify: ['sms:a'] },
          { afterMinutes: 5, notify: ['sms:b'] },
          { afterMinutes: 5, notify: ['sms:c'] },
        ],
      }),
      1,
      299_000,
      300_000,
      299_000,
    ],
    [
      'levels all at once: the next round still waits its minute, plus what the first round gained',
      escalationPolicy.parse({
        repeat: 1,
        levels: [
          { afterMinutes: 0, notify: ['sms:a'] },
          { afterMinutes: 0, notify: ['sms:b'] },
        ],
      }),
      1,
      0,
      60_000,
      0,
    ],
    // Found in review: with `repeat: 0` the step after the first round is the last level again (the
    // same people), not a new round: it waits its own 10 minutes after it ran, not 35.
    [
      'repeat 0: the 999 level run 25 min early repeats 10 min after it ran',
      DEFAULT_OVERDUE_VISIT_POLICY,
      5,
      25 * 60_000,
      10 * 60_000,
      0,
    ],
    ['the last level repeating, run early: its own interval', DEFAULT_ALARM_POLICY, 8, 60_000, 120_000, 0],
  ] as const)('a step run ahead of its time: %s', (_, p, step, aheadMs, delayMs, carried) => {
    const d = decideStep(p, step, 'open', aheadMs);
    expect(d).toMatchObject({ kind: 'notify', next: { step: step + 1, delayMs, aheadMs: carried } });
    // Acknowledged or resolved, a step run early stops all the same.
    expect(decideStep(p, step, 'resolved', aheadMs)).toEqual({ kind: 'stop', reason: 'resolved' });
  });

  it('stops at acknowledgement, or only at resolution when the condition says so', () => {
    expect(decideStep(policy, 1, 'acknowledged')).toEqual({ kind: 'stop', reason: 'acknowledged' });
    expect(decideStep({ ...policy, condition: 'if-not-resolved' }, 1, 'acknowledged')).toMatchObject({
      kind: 'notify',
    });
    expect(decideStep({ ...policy, condition: 'if-not-resolved' }, 1, 'resolved')).toEqual({
      kind: 'stop',
      reason: 'resolved',
    });
  });

  it('uses the alarm type’s policy, then the school’s alarm policy, then Doorstep’s own default', () => {
    const sosOnly = { ...policy, repeat: 0 };
    expect(policyFor({ sos: sosOnly, alarm: policy }, 'sos')).toBe(sosOnly);
    expect(policyFor({ alarm: policy }, 'fall')).toBe(policy);
    expect(policyFor({}, 'duress')).toBe(DEFAULT_ALARM_POLICY);
    expect(DEFAULT_ALARM_POLICY.levels[1]).toMatchObject({
      afterMinutes: 2,
      notify: ['board', 'sms:senior-leadership'],
    });
    expect(DEFAULT_ALARM_POLICY.levels[0]!.prompt).toMatch(/Call the member of staff/);
  });

  it('a fob’s own missed check-in is a device alarm: its kind’s ladder, else the school’s alarm ladder — never the register’s default', () => {
    const own = { ...policy, repeat: 0 };
    // The visit watcher's missed check-in keeps Doorstep's register default (a school's `alarm` is for device alarms).
    expect(policyFor({ alarm: policy }, 'missed_check_in')).toBe(DEFAULT_MISSED_CHECK_IN_POLICY);
    // A fob's: the school's device ladder, as timer_overrun gets it.
    expect(policyFor({ alarm: policy }, 'missed_check_in', 'fob')).toBe(policy);
    expect(policyFor({ alarm: policy }, 'timer_overrun', 'fob')).toBe(policy);
    expect(policyFor({}, 'missed_check_in', 'fob')).toBe(DEFAULT_ALARM_POLICY);
    // The school's own missed-check-in ladder, when it gives one, for both.
    expect(policyFor({ alarm: policy, 'missed-check-in': own }, 'missed_check_in', 'fob')).toBe(own);
    expect(policyFor({ alarm: policy, 'missed-check-in': own }, 'missed_check_in')).toBe(own);
    // Never the register default's first text to the wearer.
    expect(policyFor({}, 'missed_check_in', 'fob').levels[0]!.notify).not.toContain('sms:visiting-staff');
  });

  it('says a level without a prompt in plain words', () => {
    expect(describeTargets(['board', 'sms:senior-leadership', 'email:dsl'])).toBe(
      'Alert the board, text senior leadership, e-mail dsl',
    );
    expect(nextStepOf({ ...policy, repeat: 0 }, 1)).toEqual({
      level: 2,
      prompt: 'Text senior leadership',
      targets: 'Text senior leadership',
    });
    // A level's prompt is what its messages say; what the step does is said beside it.
    expect(nextStepOf(DEFAULT_ALARM_POLICY, 1)).toEqual({
      level: 2,
      prompt: 'Still unacknowledged: senior leadership paged',
      targets: 'Alert the board, text senior leadership',
    });
  });
});

describe("no ladder ends in silence: Doorstep's own defaults and every policy pack's", () => {
  const packs = loadPolicyPacks('config/policies');
  const ladders: [string, EscalationPolicy][] = [
    ['default alarm', DEFAULT_ALARM_POLICY],
    ['default overdue-visit', DEFAULT_OVERDUE_VISIT_POLICY],
    ['default missed-check-in', DEFAULT_MISSED_CHECK_IN_POLICY],
    ['default device-silent', DEFAULT_DEVICE_SILENT_POLICY],
    ...[...packs.values()].flatMap((p) =>
      Object.entries(p.escalation ?? {}).map(([k, l]): [string, EscalationPolicy] => [`${p.id} ${k}`, l]),
    ),
  ];
  it.each(ladders)(
    '%s: every step while the alarm is open (or acknowledged, where the condition goes on) notifies at least one target of its level and schedules another',
    (_name, l) =>
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 500 }),
          fc.constantFrom('open', 'acknowledged'),
          (step, state) => {
            const planned = l.levels.length * (l.repeat + 1);
            const d = decideStep(l, step, state);
            if (state === 'acknowledged' && l.condition === 'if-not-acknowledged') {
              // Paused, not ended: the acknowledgement timeout (where it is set) resumes it here.
              expect(d).toEqual({ kind: 'stop', reason: 'acknowledged' });
              return;
            }
            expect(d.kind).toBe('notify');
            if (d.kind !== 'notify') return;
            expect(d.targets.length, `step ${step}: nobody to tell`).toBeGreaterThan(0);
            expect(d.targets).toEqual(l.levels[d.level]!.notify);
            expect(d.next.step).toBe(step + 1);
            // Once the planned rounds are spent, the last level repeats at a real interval.
            if (step >= planned - 1) expect(d.next.delayMs).toBeGreaterThan(0);
            if (step >= planned) expect(d.level).toBe(l.levels.length - 1);
            expect(decideStep(l, step, 'resolved')).toEqual({ kind: 'stop', reason: 'resolved' });
          },
        ),
      ),
  );
  it.each(ladders.filter(([name]) => /overdue-visit|missed-check-in|device-silent/.test(name)))(
    '%s (a worker out): an acknowledgement never silences it — it goes on, or times out and reopens',
    (_name, l) => {
      // Acknowledging says who is handling it, not that the worker is safe: the ladder either keeps
      // going until the alarm is resolved, or the acknowledgement times out and the alarm reopens.
      expect(l.condition === 'if-not-resolved' || (l.reescalateAfterMinutes ?? 0) > 0).toBe(true);
    },
  );
  it('every pack ladder says where it comes from', () => {
    for (const [name, l] of ladders) expect(l.source ?? (name.startsWith('default') ? 'x' : '')).not.toBe('');
    expect(DEFAULT_OVERDUE_VISIT_POLICY.source).toMatch(/Doorstep's own/);
  });
});
