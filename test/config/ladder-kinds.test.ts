import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.ts';
import { formatProblem, parseYamlWith } from '../../src/config/yaml-parse.ts';
import { LADDER_KINDS, policyFor } from '../../src/domain/escalation/ladder.ts';
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
