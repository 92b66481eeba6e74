import { describe, expect, it } from 'vitest';
import { isWarning, ladderReachability } from '../../src/checks/reachability.ts';
import { configWith } from '../helpers/config.ts';

/**
 * An overdue-visit (or missed check-in) ladder whose only target other than the board is the people
 * on the visit (`sms:visiting-staff`): the worker texted to call in is the one not heard from, so
 * nobody else is ever told — `doorstep check` and the data page warn that it reaches no person.
 */
describe('doorstep check: a register ladder that only ever tells the missing worker', () => {
  const school = configWith({
    env: { T: 'x' },
    school: `    escalation:
      overdue-visit:
        levels:
          - { afterMinutes: 0, notify: [board] }
          - { afterMinutes: 15, notify: [board, sms:visiting-staff] }
      missed-check-in:
        levels:
          - { afterMinutes: 0, notify: [board, sms:visiting-staff] }
    contacts:
      on-call-leaders: [{ name: A, phone: "+447700900001" }]
      senior-leadership: [{ name: B, phone: "+447700900002" }]
    channels:
      sms: { accountSid: AC1, authToken: "\${T}", from: "+447700900000", inboundUrl: "https://d.example.org/hooks/sms/alpha" }
`,
  }).schools[0]!;

  it('warns that the overdue-visit ladder reaches no one but the worker it is about', () => {
    const warned = ladderReachability(school).filter(
      (p) => p.ladder === 'overdue-visit' && isWarning(p.kind),
    );
    expect(warned).not.toEqual([]);
  });

  it('warns that the missed-check-in ladder reaches no one but the worker it is about', () => {
    const warned = ladderReachability(school).filter(
      (p) => p.ladder === 'missed-check-in' && isWarning(p.kind),
    );
    expect(warned).not.toEqual([]);
  });
});

describe('doorstep check: out of hours, an overdue ladder that only ever texts the missing worker', () => {
  // out-of-hours-reach.ts skips a ladder with no first person ("warned as `no-person` already"), but
  // `no-person` counts the people on the visit as a person: at night nobody is warned of anything.
  const school = configWith({
    env: { T: 'x' },
    school: `    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours:
        overdue-visit: { levels: [{ afterMinutes: 0, notify: [board] }, { afterMinutes: 10, notify: [board, sms:visiting-staff] }] }
        missed-check-in: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
        alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
    contacts:
      on-call: [{ name: On Call, phone: "+447700900001" }]
      on-call-leaders: [{ name: A, phone: "+447700900001" }]
      senior-leadership: [{ name: B, phone: "+447700900002" }]
    channels:
      sms: { accountSid: AC1, authToken: "\${T}", from: "+447700900000", inboundUrl: "https://d.example.org/hooks/sms/alpha" }
`,
  }).schools[0]!;

  it('warns of escalationHours.outOfHours.overdue-visit', () => {
    const warned = ladderReachability(school).filter(
      (p) => p.ladder.endsWith('overdue-visit') && p.ladder.startsWith('outOfHours') && isWarning(p.kind),
    );
    expect(warned).not.toEqual([]);
  });
});
