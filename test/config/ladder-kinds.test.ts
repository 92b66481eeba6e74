import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.ts';
import { formatProblem, parseYamlWith } from '../../src/config/yaml-parse.ts';
import {
  decideStep,
  escalationPolicy,
  finalRepeatMs,
  LADDER_KINDS,
  MAX_LEVEL_WAIT_MINUTES,
  policyFor,
} from '../../src/domain/escalation/ladder.ts';
import { ALARM_TYPES } from '../../src/domain/fob/event.ts';
import { policyPack } from '../../src/domain/triggers/rules.ts';
import { configProblems, MINIMAL_SCHOOL } from '../helpers/config.ts';

const BASE = MINIMAL_SCHOOL;
const LADDER = '{ levels: [{ afterMinutes: 0, notify: [board] }] }';

const problems = (school: string) => configProblems(`${BASE}${school}`, {}, { checkPolicies: true });

const EXPECTED = `(expected one of ${LADDER_KINDS.join(', ')})`;

describe('ladder names: only the kinds an alarm is looked up by', () => {
  it('names every kind policyFor can be asked for, and nothing else', () => {
    // What raises alarms: every fob alarm type, the register's three, and `alarm` for the rest.
    const asked = ['alarm', ...ALARM_TYPES, 'overdue_visit', 'missed_check_in', 'device_silent'].map((t) =>
      t.replace(/_/g, '-'),
    );
    expect([...LADDER_KINDS].sort()).toEqual([...new Set(asked)].sort());
    // Each one, given a ladder, is the ladder that runs for it.
    for (const kind of LADDER_KINDS) {
      const own = {
        condition: 'if-not-resolved' as const,
        levels: [{ afterMinutes: 0, notify: ['board'] }],
        repeat: 0,
      };
      expect(policyFor({ [kind]: own }, kind.replace(/-/g, '_'))).toBe(own);
    }
  });

  it('refuses a misspelt ladder name with the kind it is likely meant to be, its path and line', () => {
    expect(
      problems(
        `    escalation:\n      alarm: ${LADDER}\n      overdue-vist:\n        levels: [{ afterMinutes: 0, notify: [board] }]\n`,
      ),
    ).toEqual([
      `schools[0].escalation.overdue-vist (line 11): unknown alarm kind "overdue-vist"; did you mean "overdue-visit"? ${EXPECTED}`,
    ]);
    expect(problems(`    escalation: { Alarm: ${LADDER} }\n`)).toEqual([
      `schools[0].escalation.Alarm (line 9): unknown alarm kind "Alarm"; did you mean "alarm"? ${EXPECTED}`,
    ]);
    // Nothing like any kind: no guess, only what was expected.
    expect(problems(`    escalation: { burglary: ${LADDER} }\n`)).toEqual([
      `schools[0].escalation.burglary (line 9): unknown alarm kind "burglary" ${EXPECTED}`,
    ]);
  });

  it('refuses one under escalationHours too', () => {
    expect(problems(`    escalationHours:\n      weekend:\n        alarms: ${LADDER}\n`)).toEqual([
      `schools[0].escalationHours.weekend.alarms (line 11): unknown alarm kind "alarms"; did you mean "alarm"? ${EXPECTED}`,
    ]);
  });

  it("refuses one in a policy pack's ladders", () => {
    const r = parseYamlWith(
      `id: p\ntitle: P\nsource: S\nrules: []\nescalation:\n  missed-checkin:\n    source: "the policy"\n    levels: [{ afterMinutes: 0, notify: [board] }]\n`,
      policyPack,
    );
    expect(r.ok ? [] : r.problems.map(formatProblem)).toEqual([
      `escalation.missed-checkin (line 6): unknown alarm kind "missed-checkin"; did you mean "missed-check-in"? ${EXPECTED}`,
    ]);
  });

  it('accepts every kind by name', () => {
    const ladders = LADDER_KINDS.map((k) => `      ${k}: ${LADDER}`).join('\n');
    expect(parseConfigText(`${BASE}    escalation:\n${ladders}\n`, { env: {} }).ok).toBe(true);
  });

  it('says what a record key should be, not "Invalid key in record"', () => {
    expect(problems(`    contacts: { On_Call: [{ name: A, phone: "+447700900123" }] }\n`)).toEqual([
      'schools[0].contacts.On_Call (line 9): unexpected key: expected an id of lower-case letters, digits and "-", got "On_Call"',
    ]);
  });
});

describe('a level waits at most 4 hours', () => {
  const ladder = (wait: number) =>
    `{ levels: [{ afterMinutes: 0, notify: [board] }, { afterMinutes: ${wait}, notify: [sms:on-call] }] }`;
  const CAP = `expected minutes <= ${MAX_LEVEL_WAIT_MINUTES} (4 hours): a longer wait leaves the alarm unheard that long, and the last level repeats only at its own wait`;

  it('refuses a longer wait with its path, line and the cap — a year (a ladder in effect ending in silence), and one past a date’s range', () => {
    expect(MAX_LEVEL_WAIT_MINUTES).toBe(240);
    expect(problems(`    escalation:\n      alarm: ${ladder(525_600)}\n`)).toEqual([
      `schools[0].escalation.alarm.levels[1].afterMinutes (line 10): ${CAP}, got 525600`,
    ]);
    expect(problems(`    escalation:\n      sos: ${ladder(200_000_000_000)}\n`)).toEqual([
      `schools[0].escalation.sos.levels[1].afterMinutes (line 10): ${CAP}, got 200000000000`,
    ]);
    expect(problems(`    escalationHours:\n      weekend:\n        alarm: ${ladder(241)}\n`)).toEqual([
      `schools[0].escalationHours.weekend.alarm.levels[1].afterMinutes (line 11): ${CAP}, got 241`,
    ]);
    const r = parseYamlWith(
      `id: p\ntitle: P\nsource: S\nrules: []\nescalation:\n  overdue-visit:\n    source: "the policy"\n    levels: [{ afterMinutes: 0, notify: [board] }, { afterMinutes: 1440, notify: [board] }]\n`,
      policyPack,
    );
    expect(r.ok ? [] : r.problems.map(formatProblem)).toEqual([
      `escalation.overdue-visit.levels[1].afterMinutes (line 8): ${CAP}, got 1440`,
    ]);
  });

  it('accepts 4 hours, and the ladder steps at it', () => {
    expect(
      parseConfigText(`${BASE}    escalation:\n      alarm: ${ladder(MAX_LEVEL_WAIT_MINUTES)}\n`, { env: {} })
        .ok,
    ).toBe(true);
    const policy = escalationPolicy.parse({
      levels: [
        { afterMinutes: 0, notify: ['board'] },
        { afterMinutes: MAX_LEVEL_WAIT_MINUTES, notify: ['sms:on-call'] },
      ],
    });
    const d = decideStep(policy, 0, 'open');
    expect(d.kind === 'notify' && d.next.delayMs).toBe(MAX_LEVEL_WAIT_MINUTES * 60_000);
    expect(finalRepeatMs(policy)).toBe(MAX_LEVEL_WAIT_MINUTES * 60_000);
  });
});
