import { describe, expect, it } from 'vitest';
import { ladderFor } from '../../src/alarms/ladder-for.ts';
import { ladderReachability } from '../../src/checks/reachability.ts';
import { summariseSchool } from '../../src/cli/check-command.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { configProblems, configWith, MINIMAL_SCHOOL } from '../helpers/config.ts';

const BASE = MINIMAL_SCHOOL;
const problems = (school: string) => configProblems(`${BASE}${school}`);
const LADDER = '{ levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }';

describe('escalationHours: validation', () => {
  it('names a malformed or backwards window, with its path and line', () => {
    expect(
      problems(`    escalationHours:
      schoolDay: "17:00-08:00"
      fri: "8am-3pm"
      outOfHours: { alarm: ${LADDER} }
`),
    ).toEqual([
      'schools[0].escalationHours.schoolDay (line 10): expected hours as HH:MM-HH:MM (24-hour, the end after the start), e.g. 08:00-17:00, got "17:00-08:00"',
      'schools[0].escalationHours.fri (line 11): expected hours as HH:MM-HH:MM (24-hour, the end after the start), e.g. 08:00-17:00, got "8am-3pm"',
    ]);
  });

  it('refuses an out-of-hours phone number without the school hours it is offered outside', () => {
    expect(problems(`    outOfHoursPhone: "07700 900123"\n`)).toEqual([
      'schools[0].outOfHoursPhone (line 9): needs escalationHours (schoolDay with its outOfHours ladders, or weekend / holiday ladders): the times outside school hours when the phone page offers this number',
    ]);
    expect(
      parseConfigText(
        `${BASE}    outOfHoursPhone: "07700 900123"\n    escalationHours: { schoolDay: "08:00-17:00", outOfHours: { alarm: ${LADDER} } }\n`,
        { env: {} },
      ).ok,
    ).toBe(true);
  });

  it('refuses hours without an out-of-hours ladder, and an out-of-hours ladder without hours', () => {
    expect(
      problems(`    escalationHours: { schoolDay: "08:00-17:00", weekend: { alarm: ${LADDER} } }\n`),
    ).toEqual([
      'schools[0].escalationHours.outOfHours (line 9): required with schoolDay: the ladders that run outside school hours',
    ]);
    expect(problems(`    escalationHours: { outOfHours: { alarm: ${LADDER} } }\n`)).toEqual([
      'schools[0].escalationHours.schoolDay (line 9): required with outOfHours: the school hours outside which its ladders run, e.g. 08:00-17:00',
    ]);
    expect(problems(`    escalationHours: { fri: "08:00-15:30", weekend: { alarm: ${LADDER} } }\n`)).toEqual([
      "schools[0].escalationHours.fri (line 9): fri's hours need schoolDay (the hours of every other school day)",
    ]);
  });

  it('refuses a routing with no variant, a weekend day of hours, and an empty ladder', () => {
    expect(problems('    escalationHours: {}\n')).toEqual([
      'schools[0].escalationHours (line 9): expected at least one of outOfHours, weekend or holiday (the ladders that differ by time)',
    ]);
    expect(problems(`    escalationHours: { sat: "10:00-12:00", weekend: { alarm: ${LADDER} } }\n`)).toEqual([
      'schools[0].escalationHours.sat (line 9): unknown key "sat"',
    ]);
    expect(problems('    escalationHours: { weekend: { alarm: { levels: [] } } }\n')).toEqual([
      'schools[0].escalationHours.weekend.alarm.levels (line 9): expected at least one level, got a list',
    ]);
  });
});

describe('escalationHours: the ladder an alarm takes, and reachability of every variant', () => {
  const school = configWith({
    env: { T: 'x' },
    school: `    escalation:
      alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:office] }] }
    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours:
        alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
      weekend:
        sos: { levels: [{ afterMinutes: 0, notify: [board, email:weekend-duty] }] }
    calendar:
      terms: [{ start: "2026-01-05", end: "2026-02-13" }]
    contacts:
      office: [{ name: Office, phone: "+447700900001" }]
      on-call: [{ name: On Call, email: oncall@school.example }]
    channels:
      sms: { accountSid: AC1, authToken: "\${T}", from: "+447700900000", inboundUrl: "https://d.example.org/hooks/sms/alpha" }
`,
  }).schools[0]!;

  it('chooses by the instant, in London time, and says which period chose it', () => {
    const inHours = ladderFor(school, 'sos', new Date('2026-01-14T10:00:00Z'));
    expect(inHours.levels[0]!.notify).toEqual(['board', 'sms:office']);
    expect(inHours.period).toBe('school-hours');
    const evening = ladderFor(school, 'sos', new Date('2026-01-14T18:00:00Z'));
    expect(evening.levels[0]!.notify).toEqual(['board', 'sms:on-call']);
    expect(evening.period).toBe('out-of-hours');
    expect(ladderFor(school, 'sos', new Date('2026-01-17T10:00:00Z')).levels[0]!.notify).toEqual([
      'board',
      'email:weekend-duty',
    ]);
    // Half term (after the term's last day): the out-of-hours ladder, as a holiday names none.
    const halfTerm = ladderFor(school, 'fall', new Date('2026-02-17T10:00:00Z'));
    expect([halfTerm.period, halfTerm.levels[0]!.notify]).toEqual(['holiday', ['board', 'sms:on-call']]);
  });

  it('reachability judges the variant ladders too, naming them by their config path', () => {
    const messages = ladderReachability(school)
      // (When each period's ladders first tell a person: test/checks/out-of-hours-reach.test.ts.)
      .filter((p) => p.ladder.includes('.') && p.kind !== 'late-first-person')
      .map((p) => [p.ladder, p.message]);
    expect(messages).toEqual([
      [
        'outOfHours.alarm',
        'escalationHours.outOfHours.alarm level 1 notifies sms:on-call, but no one in contacts.on-call has a phone number: it reaches no one',
      ],
      ['outOfHours.alarm', 'escalationHours.outOfHours.alarm reaches no person on any level, only the board'],
      [
        'weekend.sos',
        'escalationHours.weekend.sos level 1 notifies email:weekend-duty, but channels.email is not configured: it reaches no one',
      ],
      ['weekend.sos', 'escalationHours.weekend.sos reaches no person on any level, only the board'],
    ]);
  });
});

describe('escalationHours: doorstep check', () => {
  it('summarises the ladders that differ by time', () => {
    const school = configWith({
      school: `    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours: { alarm: { levels: [{ afterMinutes: 0, notify: [board] }] } }
      holiday: { sos: { levels: [{ afterMinutes: 0, notify: [board] }] } }
`,
    }).schools[0]!;
    expect(summariseSchool(school)).toMatch(
      /, escalation defaults \(by time: school hours 08:00-17:00; out of hours: alarm; holiday: sos\)$/,
    );
  });
});

describe('escalationHours: a school without it', () => {
  it('takes its ladder whatever the time, and the snapshot names no period', () => {
    const school = configWith().schools[0]!;
    const saturday = ladderFor(school, 'sos', new Date('2026-01-17T03:00:00Z'));
    expect(saturday.period).toBeUndefined();
    expect(saturday).toEqual(ladderFor(school, 'sos', new Date('2026-01-14T10:00:00Z')));
  });
});
