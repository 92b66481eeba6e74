import { describe, expect, it } from 'vitest';
import { ladderFor, periodFor } from '../../src/alarms/ladder-for.ts';
import { officeLine, watchOnlyOnBoard } from '../../src/domain/visits/office-line.ts';
import { watchNow } from '../../src/visits/watch-reach.ts';
import { visitSchoolsConfig } from '../helpers/visits.ts';

/**
 * Found by review: a school whose `escalationHours` give only weekend (or holiday) ladders, no
 * `schoolDay`, had every weekday instant judged "school hours" — 03:00 on a Tuesday included — so the
 * phone page said the office knows where the worker is, with "Call the office", while the missed
 * check-in's first level told only the board; the same school with no `escalationHours` at all was told
 * nobody may be watching. Its weekdays are now judged as a school with no hours is (by the ladder),
 * and the office said to be possibly closed. Its ladders are unchanged: weekdays follow its own.
 */
const weekendOnly = (extra = '') =>
  visitSchoolsConfig(
    `${extra}    escalationHours:
      weekend: { alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] } }
`,
    { SMS_TOKEN: 'tok' },
  ).schools.find((s) => s.id === 'lime')!;
const watch = (overdueAt: string) => ({ overdueAt: new Date(overdueAt), checkIns: true, fobSilent: false });
const tuesdayNight = new Date('2026-11-24T03:00:00Z');
const tuesdayMorning = new Date('2026-11-24T10:00:00Z');
const saturday = new Date('2026-11-28T23:00:00Z');

describe('a school whose escalationHours give weekend ladders only', () => {
  it('at 03:00 on a Tuesday, a missed check-in that tells only the board is the office’s screen alone, as at a school with no hours', () => {
    const lime = weekendOnly();
    const plain = visitSchoolsConfig('').schools.find((s) => s.id === 'lime')!;
    const w = watch('2026-11-24T03:30:00Z');
    expect(watchNow(plain, tuesdayNight, w).watchOnlyOnBoard).toBe(true);
    expect(watchNow(lime, tuesdayNight, w)).toEqual({
      watchOnlyOnBoard: true,
      office: { phone: '01632 960123', label: 'Call the office (may be closed now)' },
    });
    // At 10:00 its hours are no better known: judged by the ladder, the office possibly closed.
    expect(watchNow(lime, tuesdayMorning, watch('2026-11-24T11:00:00Z'))).toEqual({
      watchOnlyOnBoard: true,
      office: { phone: '01632 960123', label: 'Call the office (may be closed now)' },
    });
  });

  it('a weekday ladder that texts a person at once is still said to reach someone', () => {
    // With an SMS channel: the text to the on-call leaders reaches a person.
    const texted = weekendOnly(`    channels:
      sms: { baseUrl: "http://127.0.0.1:9", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
    escalation:
      overdue-visit: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] }
      missed-check-in: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] }
`);
    expect(watchNow(texted, tuesdayNight, watch('2026-11-24T03:30:00Z')).watchOnlyOnBoard).toBe(false);
  });

  it('its on-call number is offered at weekends; on a weekday (hours not known) the office, possibly closed', () => {
    const lime = weekendOnly('    outOfHoursPhone: "07700 900123"\n');
    expect(watchNow(lime, saturday, watch('2026-11-28T23:30:00Z')).office).toEqual({
      phone: '07700 900123',
      label: 'Call the on-call number',
    });
    expect(watchNow(lime, tuesdayNight, watch('2026-11-24T03:30:00Z')).office).toEqual({
      phone: '01632 960123',
      label: 'Call the office (may be closed now)',
    });
    // With no office number, the on-call number rather than 999 alone.
    expect(officeLine({ outOfHoursPhone: '07700 900123' }, 'school-day')).toEqual({
      phone: '07700 900123',
      label: 'Call the on-call number',
    });
    expect(officeLine({}, 'school-day')).toBeNull();
  });

  it('its ladders are as its config says: weekdays its own at any hour, weekends the weekend ladder', () => {
    const lime = weekendOnly();
    expect(periodFor(lime, tuesdayNight)).toBe('school-day');
    expect(periodFor(lime, saturday)).toBe('weekend');
    const night = ladderFor(lime, 'missed_check_in', tuesdayNight);
    expect(night).toMatchObject({ period: 'school-hours', byPeriod: false });
    expect(night.levels[0]!.notify).toEqual(
      ladderFor(lime, 'missed_check_in', tuesdayMorning).levels[0]!.notify,
    );
    expect(ladderFor(lime, 'alarm', saturday)).toMatchObject({ period: 'weekend', byPeriod: true });
  });

  it('the domain: a school day whose hours are not known is never "the office at its screen"', () => {
    const boardFirst = { levels: [{ notify: ['board'] }, { notify: ['sms:on-call-leaders'] }] };
    const anyone = () => true;
    expect(watchOnlyOnBoard('school-day', [boardFirst], anyone)).toBe(true);
    expect(watchOnlyOnBoard('school-hours', [boardFirst], anyone)).toBe(false);
  });
});
