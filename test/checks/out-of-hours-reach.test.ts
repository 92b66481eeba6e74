import { describe, expect, it } from 'vitest';
import { isWarning, ladderReachability } from '../../src/checks/reachability.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { configWith } from '../helpers/config.ts';

const late = (school: Parameters<typeof ladderReachability>[0]) =>
  ladderReachability(school).filter((p) => p.kind === 'late-first-person');

const withHours = (outOfHours: string, rest = '') =>
  configWith({
    school: `    escalation:
      alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours:
${outOfHours}${rest}    contacts:
      on-call: [{ name: On Call, phone: "+447700900001" }]
`,
  }).schools[0]!;

describe('out of school hours, when each ladder first tells a person', () => {
  it('warns of the kinds that fall back to in-hours ladders whose first person comes later, naming kind, period and minutes', () => {
    const school = withHours(`        alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
`);
    const found = late(school);
    expect(found.map((p) => [p.ladder, p.level, isWarning(p.kind)])).toEqual([
      ['outOfHours.overdue-visit', 5, true],
      ['outOfHours.missed-check-in', 2, true],
    ]);
    expect(found[0]!.message).toBe(
      "out of hours, at weekends and in holidays, an overdue visit reaches its first person after 50 min (Doorstep's default ladder level 5): only the board, which nobody watches at night, before that (and a text to the worker not heard from) — give escalationHours.outOfHours an overdue-visit ladder whose first level texts or calls the on-call people (e.g. [board, sms:on-call-leaders])",
    );
    expect(found[1]!.message).toMatch(
      /^out of hours, at weekends and in holidays, a missed check-in reaches its first person after 5 min /,
    );
  });

  it('names the ladder a kind follows and the periods it runs in; a weekend ladder of its own is judged apart', () => {
    const school = withHours(
      `        alarm: { levels: [{ afterMinutes: 0, notify: [board] }, { afterMinutes: 3, notify: [board, sms:on-call] }] }
        overdue-visit: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
        missed-check-in: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
`,
      `      weekend:
        overdue-visit: { levels: [{ afterMinutes: 0, notify: [board] }, { afterMinutes: 20, notify: [sms:on-call] }] }
`,
    );
    expect(late(school).map((p) => p.message.split(': only')[0])).toEqual([
      'out of hours, at weekends and in holidays, an alarm reaches its first person after 3 min (escalationHours.outOfHours.alarm level 2)',
      'at weekends, an overdue visit reaches its first person after 20 min (escalationHours.weekend.overdue-visit level 2)',
    ]);
  });

  it('leaves alone a school without ladders by time, and every ladder that tells a person at once', () => {
    expect(late(configWith().schools[0]!)).toEqual([]);
    const school = withHours(`        alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
        overdue-visit: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
        missed-check-in: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call] }] }
`);
    expect(late(school)).toEqual([]);
  });

  it('the example config reaches a person at once out of hours for every kind a school raises', () => {
    const schools = loadConfigFile('config/doorstep.example.yaml').schools;
    const heath = schools.find((s) => s.id === 'heath-lane')!;
    expect(Object.keys(heath.escalationHours?.outOfHours ?? {})).toEqual([
      'alarm',
      'overdue-visit',
      'missed-check-in',
      'device-silent',
    ]);
    // A silent fob too, once the school sets fobs.silentAlarmMinutes.
    const watched = { ...heath, fobs: { ...heath.fobs, silentAlarmMinutes: 30 } };
    for (const s of [...schools, watched]) expect(late(s)).toEqual([]);
  });
});
