import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { londonDate, londonMinutes, weekday } from '../../src/domain/attendance/dates.ts';
import { SchoolCalendar } from '../../src/domain/calendar.ts';
import {
  DEFAULT_ALARM_POLICY,
  DEFAULT_DEVICE_SILENT_POLICY,
  DEFAULT_MISSED_CHECK_IN_POLICY,
  DEFAULT_OVERDUE_VISIT_POLICY,
  type EscalationPolicy,
} from '../../src/domain/escalation/ladder.ts';
import {
  chooseLadder,
  type EscalationRouting,
  LADDER_PERIODS,
  type LadderPeriod,
  looksAtLadderNow,
  parseHoursWindow,
  periodAt,
  targetsWithLadderNow,
} from '../../src/domain/escalation/routing.ts';

// Autumn 2025 to summer 2027 (half terms as holidays), with an INSET day and a bank holiday.
const calendar = new SchoolCalendar({
  terms: [
    { start: '2025-09-03', end: '2025-10-24' },
    { start: '2025-11-03', end: '2025-12-19' },
    { start: '2026-01-05', end: '2026-02-13' },
    { start: '2026-02-23', end: '2026-04-02' },
    { start: '2026-04-20', end: '2026-05-22' },
    { start: '2026-06-01', end: '2026-07-21' },
    { start: '2026-09-02', end: '2026-10-23' },
    { start: '2026-11-02', end: '2026-12-18' },
  ],
  closures: [
    { from: '2026-01-05', to: '2026-01-05', kind: 'inset', note: 'training day' },
    { from: '2026-05-04', to: '2026-05-04', kind: 'bank-holiday' },
  ],
});

const ladder = (name: string): EscalationPolicy => ({
  condition: 'if-not-acknowledged',
  levels: [{ afterMinutes: 0, notify: ['board', `sms:${name}`] }],
  repeat: 0,
});
const hours = {
  schoolDay: parseHoursWindow('08:00-17:00')!,
  byWeekday: { 5: parseHoursWindow('08:00-15:30')! },
};
const routing: EscalationRouting = {
  base: { alarm: ladder('office'), sos: ladder('office-sos') },
  hours,
  outOfHours: { alarm: ladder('on-call') },
  weekend: { alarm: ladder('weekend-duty') },
  holiday: { sos: ladder('holiday-duty') },
};
const at = (iso: string) => new Date(iso);
const targetOf = (p: EscalationPolicy) => p.levels[0]!.notify[1];

describe('time-based routing: the period of an instant (Europe/London)', () => {
  it('school hours and out of hours on a term day, with a weekday of its own hours', () => {
    expect(periodAt(calendar, hours, at('2026-01-14T07:59:00Z'))).toBe('out-of-hours');
    expect(periodAt(calendar, hours, at('2026-01-14T08:00:00Z'))).toBe('school-hours');
    expect(periodAt(calendar, hours, at('2026-01-14T16:59:59Z'))).toBe('school-hours');
    expect(periodAt(calendar, hours, at('2026-01-14T17:00:00Z'))).toBe('out-of-hours');
    // Friday ends at 15:30.
    expect(periodAt(calendar, hours, at('2026-01-16T15:29:00Z'))).toBe('school-hours');
    expect(periodAt(calendar, hours, at('2026-01-16T15:30:00Z'))).toBe('out-of-hours');
  });

  it('weekends, holidays between terms, half term, INSET days and bank holidays', () => {
    expect(periodAt(calendar, hours, at('2026-01-17T10:00:00Z'))).toBe('weekend');
    expect(periodAt(calendar, hours, at('2025-12-24T10:00:00Z'))).toBe('holiday');
    expect(periodAt(calendar, hours, at('2026-02-17T10:00:00Z'))).toBe('holiday');
    expect(periodAt(calendar, hours, at('2026-01-05T10:00:00Z'))).toBe('holiday');
    expect(periodAt(calendar, hours, at('2026-05-04T09:00:00Z'))).toBe('holiday');
    // A Saturday in the summer holiday is a weekend.
    expect(periodAt(calendar, hours, at('2026-08-01T10:00:00Z'))).toBe('weekend');
    // A weekday of a year no term covers: judged a school day (the calendar cannot tell).
    expect(periodAt(calendar, hours, at('2028-01-12T10:00:00Z'))).toBe('school-hours');
  });

  it('across the March clock change (last Sunday, 29 March 2026): 07:30 UTC is out of hours before, school hours after', () => {
    // Friday 27 March: GMT, 07:30 UTC is 07:30 in London.
    expect(periodAt(calendar, hours, at('2026-03-27T07:30:00Z'))).toBe('out-of-hours');
    // Monday 30 March: BST, 07:30 UTC is 08:30 in London.
    expect(periodAt(calendar, hours, at('2026-03-30T07:30:00Z'))).toBe('school-hours');
    // 16:30 UTC is 16:30 before (in hours), 17:30 after (out of hours).
    expect(periodAt(calendar, hours, at('2026-03-26T16:30:00Z'))).toBe('school-hours');
    expect(periodAt(calendar, hours, at('2026-03-31T16:30:00Z'))).toBe('out-of-hours');
    // Sunday 23:30 UTC after the change is already Monday 00:30 in London: a school day, out of hours.
    expect(periodAt(calendar, hours, at('2026-03-29T23:30:00Z'))).toBe('out-of-hours');
    // The change itself (01:00 UTC) is on a Sunday: weekend either side.
    expect(periodAt(calendar, hours, at('2026-03-29T00:59:00Z'))).toBe('weekend');
    expect(periodAt(calendar, hours, at('2026-03-29T01:00:00Z'))).toBe('weekend');
  });

  it('across the October clock change (last Sunday, 25 October 2026)', () => {
    // Thursday 22 October: BST, 16:30 UTC is 17:30 in London (out of hours); 07:30 UTC is 08:30 (in hours).
    expect(periodAt(calendar, hours, at('2026-10-22T16:30:00Z'))).toBe('out-of-hours');
    expect(periodAt(calendar, hours, at('2026-10-22T07:30:00Z'))).toBe('school-hours');
    // Monday 26 October is half term (a holiday); Monday 2 November, GMT: 16:30 UTC is 16:30, in hours.
    expect(periodAt(calendar, hours, at('2026-10-26T16:30:00Z'))).toBe('holiday');
    expect(periodAt(calendar, hours, at('2026-11-02T16:30:00Z'))).toBe('school-hours');
    expect(periodAt(calendar, hours, at('2026-11-02T07:30:00Z'))).toBe('out-of-hours');
    // Sunday 23:30 UTC before the change is Monday 00:30 BST; after it, still Sunday 23:30 GMT.
    expect(periodAt(calendar, hours, at('2026-10-18T23:30:00Z'))).toBe('out-of-hours');
    expect(periodAt(calendar, hours, at('2026-11-01T23:30:00Z'))).toBe('weekend');
  });
});

describe('time-based routing: the ladder chosen', () => {
  it('each period its own ladder for the kinds it names; the rest kept, weekend and holiday over out of hours', () => {
    const pick = (iso: string, type: string) => chooseLadder(routing, calendar, at(iso), type);
    expect(targetOf(pick('2026-01-14T10:00:00Z', 'fall'))).toBe('sms:office');
    expect(pick('2026-01-14T10:00:00Z', 'fall').period).toBe('school-hours');
    expect(targetOf(pick('2026-01-14T10:00:00Z', 'sos'))).toBe('sms:office-sos');
    expect(targetOf(pick('2026-01-14T19:00:00Z', 'fall'))).toBe('sms:on-call');
    expect(pick('2026-01-14T19:00:00Z', 'fall').byPeriod).toBe(true);
    // Out of hours names no `sos`: the school's own `sos` ladder holds — and is not called out of hours'.
    expect(targetOf(pick('2026-01-14T19:00:00Z', 'sos'))).toBe('sms:office-sos');
    expect(pick('2026-01-14T19:00:00Z', 'sos')).toMatchObject({ period: 'out-of-hours', byPeriod: false });
    expect(targetOf(pick('2026-01-17T10:00:00Z', 'fall'))).toBe('sms:weekend-duty');
    // A holiday names `sos` only: its device alarms without a ladder of their own take out of hours'.
    expect(targetOf(pick('2026-02-17T10:00:00Z', 'sos'))).toBe('sms:holiday-duty');
    expect(targetOf(pick('2026-02-17T10:00:00Z', 'fall'))).toBe('sms:on-call');
    expect(pick('2026-02-17T10:00:00Z', 'fall').period).toBe('holiday');
    // Visit alarms keep Doorstep's own defaults unless a period names them.
    expect(pick('2026-01-17T10:00:00Z', 'overdue_visit').condition).toBe('if-not-resolved');
  });

  it('names whose ladder it is: a weekend or holiday naming none for the kind runs out of hours’, and says so', () => {
    const pick = (iso: string, type: string) => chooseLadder(routing, calendar, at(iso), type);
    expect(pick('2026-01-14T19:00:00Z', 'fall')).toMatchObject({
      period: 'out-of-hours',
      ladderOf: 'out-of-hours',
    });
    expect(pick('2026-01-17T10:00:00Z', 'fall')).toMatchObject({ period: 'weekend', ladderOf: 'weekend' });
    expect(pick('2026-02-17T10:00:00Z', 'sos')).toMatchObject({ period: 'holiday', ladderOf: 'holiday' });
    expect(pick('2026-02-17T10:00:00Z', 'fall')).toMatchObject({
      period: 'holiday',
      ladderOf: 'out-of-hours',
    });
    // The example config: an out-of-hours ladder, its weekend one commented out.
    const noWeekend: EscalationRouting = { base: routing.base, hours, outOfHours: routing.outOfHours };
    const saturday = chooseLadder(noWeekend, calendar, at('2026-01-17T05:58:00Z'), 'fall');
    expect(targetOf(saturday)).toBe('sms:on-call');
    expect(saturday).toMatchObject({ period: 'weekend', byPeriod: true, ladderOf: 'out-of-hours' });
    // The school's own ladder (no period's replaced it) is no period's.
    expect(pick('2026-01-14T19:00:00Z', 'sos').ladderOf).toBeUndefined();
  });

  it('with no routing, every instant takes the school ladder', () => {
    const plain: EscalationRouting = { base: {} };
    const p = chooseLadder(plain, calendar, at('2026-01-17T03:00:00Z'), 'sos');
    expect(p.levels).toEqual(DEFAULT_ALARM_POLICY.levels);
    expect(p.period).toBe('weekend');
  });

  it('hours windows are read strictly', () => {
    expect(parseHoursWindow('08:00-17:00')).toEqual({ from: 480, to: 1020 });
    expect(parseHoursWindow('00:00-24:00')).toEqual({ from: 0, to: 1440 });
    for (const bad of [
      '17:00-08:00',
      '08:00-08:00',
      '8:00-17:00',
      '08:00-24:30',
      '08:00 17:00',
      '25:00-26:00',
    ])
      expect(parseHoursWindow(bad)).toBeNull();
  });
});

describe('time-based routing: a ladder still going in another period', () => {
  const day: EscalationRouting = {
    base: { 'missed-check-in': { ...ladder('office'), repeat: 1 } },
    hours,
    outOfHours: { 'missed-check-in': ladder('on-call-leaders') },
  };
  // Wednesday 14 January 2026: raised at 16:58, still going at 19:00.
  const saved = chooseLadder(day, calendar, at('2026-01-14T16:58:00Z'), 'missed_check_in');
  const evening = chooseLadder(day, calendar, at('2026-01-14T19:00:00Z'), 'missed_check_in');

  it('its first round is the ladder chosen at the raise; past it, or on a reopen, the ladder of now is looked at', () => {
    expect(saved.period).toBe('school-hours');
    expect(looksAtLadderNow(saved, 0, false)).toBe(false);
    expect(looksAtLadderNow(saved, 0, true)).toBe(true);
    expect(looksAtLadderNow(saved, 1, false)).toBe(true);
    expect(looksAtLadderNow(saved, 24, false)).toBe(true);
  });

  it('out of hours now: the out-of-hours ladder’s last level is paged as well as the saved one; the same period adds nobody', () => {
    expect(targetsWithLadderNow(['board', 'sms:office'], saved, evening)).toEqual({
      targets: ['board', 'sms:office', 'sms:on-call-leaders'],
      added: ['sms:on-call-leaders'],
    });
    const later = chooseLadder(day, calendar, at('2026-01-14T16:59:00Z'), 'missed_check_in');
    expect(targetsWithLadderNow(['board', 'sms:office'], saved, later).added).toEqual([]);
    // A school without ladders by time: no period now, nothing added.
    const { period: _p, byPeriod: _b, ladderOf: _l, ...plain } = evening;
    expect(targetsWithLadderNow(['board'], saved, plain).targets).toEqual(['board']);
  });
});

describe('time-based routing: properties', () => {
  // 2024-01-01 to 2029-01-01: several clock changes each way.
  const instant = fc
    .integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2029, 0, 1) })
    .map((ms) => new Date(ms));
  const window = fc
    .tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 1440 }))
    .filter(([a, b]) => b > a)
    .map(([from, to]) => ({ from, to }));
  const KINDS = ['alarm', 'sos', 'fall', 'overdue-visit', 'missed-check-in'] as const;
  /** A ladder that says where it was configured (its period and kind), so a choice can be traced. */
  const tagged = (where: string): EscalationPolicy => ({
    condition: 'if-not-acknowledged',
    levels: [{ afterMinutes: 0, notify: ['board', `sms:${where.replace(/[^a-z-]/g, '-')}`] }],
    repeat: 0,
    source: where,
  });
  const someLadders = (period: string) =>
    fc
      .subarray([...KINDS])
      .map((kinds) => Object.fromEntries(kinds.map((k) => [k, tagged(`${period}:${k}`)])));
  const routings = fc.record({
    base: someLadders('base'),
    hours: fc.option(
      fc.record({
        schoolDay: window,
        byWeekday: fc.dictionary(fc.constantFrom('1', '2', '3', '4', '5'), window),
      }),
      { nil: undefined },
    ),
    outOfHours: fc.option(someLadders('out-of-hours'), { nil: undefined }),
    weekend: fc.option(someLadders('weekend'), { nil: undefined }),
    holiday: fc.option(someLadders('holiday'), { nil: undefined }),
  }) as fc.Arbitrary<EscalationRouting>;
  const types = fc.constantFrom('sos', 'fall', 'duress', 'overdue_visit', 'missed_check_in', 'device_silent');

  it('every instant falls in exactly one period, the one its London date and time say', () => {
    fc.assert(
      fc.property(routings, instant, (r, t) => {
        const date = londonDate(t);
        const wd = weekday(date);
        const closed = !calendar.isSchoolDay(date) && calendar.whyClosed(date) !== undefined;
        const w = r.hours ? (r.hours.byWeekday[wd as 1] ?? r.hours.schoolDay) : { from: 0, to: 1440 };
        const m = londonMinutes(t);
        const holds: Record<LadderPeriod, boolean> = {
          weekend: wd === 0 || wd === 6,
          holiday: wd !== 0 && wd !== 6 && closed,
          'school-hours': wd !== 0 && wd !== 6 && !closed && m >= w.from && m < w.to,
          'out-of-hours': wd !== 0 && wd !== 6 && !closed && (m < w.from || m >= w.to),
        };
        expect(LADDER_PERIODS.filter((p) => holds[p])).toEqual([periodAt(calendar, r.hours, t)]);
      }),
      { numRuns: 2000 },
    );
  });

  /**
   * The ladder the documentation says an alarm gets, read off the routing as a person would: the
   * instant's period's ladders laid over out-of-hours' over the school's own (school hours: the
   * school's own only), the kind's own ladder first (`_` and `-` alike); else, for an alarm the
   * register raised, Doorstep's own default for its kind; else the school's `alarm` ladder (the
   * same layers); else Doorstep's default device ladder.
   */
  function documented(r: EscalationRouting, period: LadderPeriod, type: string, origin: 'fob' | 'register') {
    const layers: (Record<string, EscalationPolicy> | undefined)[] =
      period === 'school-hours'
        ? [r.base]
        : period === 'out-of-hours'
          ? [r.outOfHours, r.base]
          : [r[period], r.outOfHours, r.base];
    const find = (name: string) => layers.map((l) => l?.[name]).find((p) => p !== undefined);
    const visitDefault = {
      overdue_visit: DEFAULT_OVERDUE_VISIT_POLICY,
      missed_check_in: DEFAULT_MISSED_CHECK_IN_POLICY,
      device_silent: DEFAULT_DEVICE_SILENT_POLICY,
    }[type as 'overdue_visit'];
    return (
      find(type) ??
      find(type.replace(/_/g, '-')) ??
      (origin === 'register' ? visitDefault : undefined) ??
      find('alarm') ??
      DEFAULT_ALARM_POLICY
    );
  }

  it('every instant maps to exactly the ladder the documentation names, never another period’s, and none is empty', () => {
    let variants = 0;
    fc.assert(
      fc.property(
        routings,
        instant,
        types,
        fc.constantFrom('fob' as const, 'register' as const),
        (r, t, type, origin) => {
          const chosen = chooseLadder(r, calendar, t, type, origin);
          const period = periodAt(calendar, r.hours, t);
          expect(chosen.period).toBe(period);
          const { period: _p, byPeriod, ladderOf, ...policy } = chosen;
          expect(policy).toEqual(documented(r, period, type, origin));
          // Said to be the period's only when the period's ladders gave it, not the school's own.
          if (period === 'school-hours') expect(byPeriod).toBe(false);
          else if (byPeriod === false) expect(policy).toEqual(documented(r, 'school-hours', type, origin));
          // Traced back: a ladder configured for a period is chosen only in that period (out-of-hours'
          // also on weekends and holidays, where they name nothing of their own).
          const from = /^(base|out-of-hours|weekend|holiday):/.exec(policy.source ?? '')?.[1];
          // Whose ladder it is, as said on the board: the period it was configured for.
          if (byPeriod) expect(ladderOf).toBe(from);
          else expect(ladderOf).toBeUndefined();
          if (from && from !== 'base') {
            variants++;
            expect(
              from === period || (from === 'out-of-hours' && period !== 'school-hours'),
              `${from} ladder chosen at a ${period} instant`,
            ).toBe(true);
          }
          // An alarm the register raised never takes the school's device (`alarm`) ladder.
          if (origin === 'register' && /^(overdue_visit|missed_check_in|device_silent)$/.test(type))
            expect(policy.source ?? '', 'a visit alarm on the device ladder').not.toMatch(/:alarm$/);
          // A variant replaces exactly the kinds it names: taking the others out of it changes nothing.
          if (period === 'weekend' || period === 'holiday') {
            const own = r[period] ?? {};
            const keep = Object.fromEntries(
              Object.entries(own).filter(
                ([k]) => k === type || k === type.replace(/_/g, '-') || k === 'alarm',
              ),
            );
            expect(chooseLadder({ ...r, [period]: keep }, calendar, t, type, origin)).toEqual(chosen);
          }
          // The same question asked again gets the same ladder (a function of config, calendar, instant).
          expect(chooseLadder(r, calendar, t, type, origin)).toEqual(chosen);
          expect(chosen.levels.length).toBeGreaterThan(0);
          for (const level of chosen.levels) expect(level.notify.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 2000 },
    );
    expect(variants).toBeGreaterThan(200);
  });
});
