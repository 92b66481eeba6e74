import { describe, expect, it } from 'vitest';
import { isWarning, ladderReachability } from '../../src/checks/reachability.ts';
import { escalationGaps } from '../../src/cli/check-command.ts';
import { configWith } from '../helpers/config.ts';

describe('doorstep check: ladder levels that reach no one', () => {
  it('names, per ladder and level, targets whose channel or contacts group is missing', () => {
    expect(escalationGaps(configWith().schools[0]!)).toEqual([
      'escalation.alarm level 1 notifies sms:on-call-leaders, but channels.sms is not configured: it reaches no one',
      'escalation.alarm level 2 notifies sms:senior-leadership, but channels.sms is not configured: it reaches no one',
      'escalation.alarm reaches no person on any level, only the board',
      'escalation.overdue-visit level 2 notifies sms:visiting-staff, but channels.sms is not configured: it reaches no one',
      'escalation.overdue-visit level 5 notifies sms:senior-leadership, but channels.sms is not configured: it reaches no one',
      'escalation.overdue-visit level 6 notifies sms:senior-leadership, but channels.sms is not configured: it reaches no one',
      'escalation.overdue-visit reaches no person on any level, only the board',
      'escalation.missed-check-in level 1 notifies sms:visiting-staff, but channels.sms is not configured: it reaches no one',
      'escalation.missed-check-in level 2 notifies sms:on-call-leaders, but channels.sms is not configured: it reaches no one',
      'escalation.missed-check-in reaches no person on any level, only the board',
    ]);
    const configured = configWith({
      env: { T: 'x' },
      school: `    contacts:
      on-call-leaders: [{ name: A, phone: "+447700900001" }]
    channels:
      sms: { accountSid: AC1, authToken: "\${T}", from: "+447700900000", inboundUrl: "https://d.example.org/hooks/sms/alpha" }
`,
    }).schools[0]!;
    // `visiting-staff` is never judged: it is the people on the visit, from their accounts.
    expect(escalationGaps(configured)).toEqual([
      'escalation.alarm level 2 notifies sms:senior-leadership, but there is no contacts.senior-leadership (the groups are on-call-leaders): it reaches no one',
      'escalation.overdue-visit level 5 notifies sms:senior-leadership, but there is no contacts.senior-leadership (the groups are on-call-leaders): it reaches no one',
      'escalation.overdue-visit level 6 notifies sms:senior-leadership, but there is no contacts.senior-leadership (the groups are on-call-leaders): it reaches no one',
      // …and with no senior-leadership, the ladder tells only the board and the worker not heard from.
      'escalation.overdue-visit reaches no person on any level, only the board (and a text to the people on the visit, the ones not heard from)',
    ]);
  });

  it("says that a fob's own missed check-in is never texted to its wearer, where the school has fobs", () => {
    const school = configWith({
      env: { T: 'x', W: `whsec_${Buffer.alloc(32, 'k').toString('base64')}` },
      school: `    fobs:
      transports: [{ kind: webhook, profile: peoplesafe-style, secret: "\${W}" }]
      devices: [{ deviceId: PS-1, staffId: s-1 }]
    contacts:
      on-call-leaders: [{ name: A, phone: "+447700900001" }]
    channels:
      sms: { accountSid: AC1, authToken: "\${T}", from: "+447700900000", inboundUrl: "https://d.example.org/hooks/sms/alpha" }
`,
    }).schools[0]!;
    expect(
      ladderReachability(school)
        .filter((p) => p.ladder === 'missed-check-in')
        .map((p) => `${p.kind}: ${p.message}`),
    ).toEqual([
      "some-unreachable: escalation.missed-check-in level 1 notifies sms:visiting-staff, but for a fob's own missed check-in it reaches no one (a device alarm never goes to the wearer): that step passes to the next level at once",
    ]);
  });

  it('warns of a ladder whose repeating last level tells only the board (no ladder ends in silence)', () => {
    const school = configWith({
      env: { T: 'x' },
      school: `    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [board, sms:leaders] }
          - { afterMinutes: 5, notify: [board] }
    contacts:
      leaders: [{ name: Head, phone: "+447700900001" }]
    channels:
      sms: { accountSid: AC1, authToken: "\${T}", from: "+447700900000", inboundUrl: "https://d.example.org/hooks/sms/alpha" }
`,
    }).schools[0]!;
    expect(ladderReachability(school).filter((p) => p.ladder === 'alarm')).toEqual([
      {
        ladder: 'alarm',
        level: 2,
        target: null,
        kind: 'repeats-board-only',
        message:
          'escalation.alarm level 2 repeats until the alarm is resolved but notifies only the board: once its rounds are spent no person is told again — add a group that carries a phone (e.g. sms:on-call-leaders)',
      },
    ]);
    // Doorstep's own overdue ladder repeats with leadership's text, never the board alone.
    expect(ladderReachability(school).filter((p) => p.kind === 'repeats-board-only')).toHaveLength(1);
    // Warned, as a ladder reaching no one is: only some people unreachable, or no reports, are notes.
    expect(isWarning('repeats-board-only')).toBe(true);
    expect(isWarning('no-person')).toBe(true);
    expect(isWarning('reaches-no-one')).toBe(true);
    expect(isWarning('some-unreachable')).toBe(false);
  });

  it('an SMS group with no phones, an e-mail group with no addresses, people with no route, and no delivery reports', () => {
    const school = configWith({
      env: { T: 'x' },
      school: `    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [board, sms:leaders, email:dsl] }
          - { afterMinutes: 2, notify: [sms:office, email:leaders] }
    contacts:
      leaders: [{ name: Head, phone: "+447700900001" }, { name: Deputy, email: deputy@school.example }]
      dsl: [{ name: DSL, phone: "+447700900003" }]
      office: [{ name: Office, email: office@school.example }]
    channels:
      sms: { accountSid: AC1, authToken: "\${T}", from: "+447700900000" }
      email: { smtpUrl: "smtp://mail.school.example:587", from: doorstep@school.example }
`,
    }).schools[0]!;
    const alarm = ladderReachability(school).filter((p) => p.ladder === 'alarm' || p.ladder === '');
    expect(alarm.map((p) => [p.level, p.target, p.kind, p.message])).toEqual([
      [
        1,
        'sms:leaders',
        'some-unreachable',
        'escalation.alarm level 1 notifies sms:leaders, but Deputy in contacts.leaders has no phone number',
      ],
      [
        1,
        'email:dsl',
        'reaches-no-one',
        'escalation.alarm level 1 notifies email:dsl, but no one in contacts.dsl has an e-mail address: it reaches no one',
      ],
      [
        2,
        'sms:office',
        'reaches-no-one',
        'escalation.alarm level 2 notifies sms:office, but no one in contacts.office has a phone number: it reaches no one',
      ],
      [
        2,
        'email:leaders',
        'some-unreachable',
        'escalation.alarm level 2 notifies email:leaders, but Head in contacts.leaders has no e-mail address',
      ],
      [
        null,
        null,
        'no-reports',
        'channels.sms has no statusUrl (or inboundUrl): no delivery reports, so an undelivered text waits for the next level',
      ],
      [
        null,
        null,
        'replies-unverifiable',
        expect.stringMatching(
          /^channels\.sms has no inboundUrl: alarm texts ask for a reply, which verifies only if/,
        ),
      ],
    ]);
  });
});
