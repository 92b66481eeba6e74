import { describe, expect, it } from 'vitest';
import { countedDays, pupilYear, type StoredMark } from '../../../src/domain/attendance/pupil-year.ts';
import { SchoolCalendar } from '../../../src/domain/calendar.ts';

/** Autumn 2026: term from Tue 1 Sep to Fri 23 Oct, an INSET day on Fri 11 Sep; half term after. */
const calendar = new SchoolCalendar({
  terms: [
    { start: '2026-09-01', end: '2026-10-23' },
    { start: '2026-11-02', end: '2026-12-18' },
  ],
  closures: [{ from: '2026-09-11', to: '2026-09-11', kind: 'inset' }],
});

const day = (date: string, am: string, pm = am): StoredMark[] => [
  { date, session: 'AM', code: am },
  { date, session: 'PM', code: pm },
];

describe('a pupil’s year', () => {
  const marks = [
    ...day('2026-09-01', '/', '\\'),
    ...day('2026-09-02', 'N'),
    ...day('2026-09-03', 'I'),
    ...day('2026-09-04', 'B', 'X'),
    ...day('2026-09-11', '/'), // INSET day: shown, not counted
    ...day('2026-09-07', 'L', '\\'),
  ];
  const y = pupilYear(marks, calendar, '2026-09-01', '2026-09-11', new Set(['2026-09-02']));

  it('counts as the trigger rules count: school days, possible = marked less not-possible, attended = present or approved', () => {
    // School days 1–4, 7 (5 and 6 are a weekend, 11 is INSET): sessions 2+2+2+2+2 = 10 marked, X is not possible.
    expect(y.total.possible).toBe(9);
    expect(y.total.attended).toBe(2 + 1 + 2); // 1 Sep both, 4 Sep B, 7 Sep both
    expect(y.total.rate).toBeCloseTo(5 / 9);
    expect(y.total.byCategory).toEqual({
      present: 4,
      approved_activity: 1,
      authorised_absence: 2,
      unauthorised_absence: 2,
      not_possible: 1,
    });
  });

  it('lays the weekdays out Monday to Friday per month, with each session’s category and the counted days', () => {
    expect(y.months).toHaveLength(1);
    const [w1, w2] = y.months[0]!.weeks;
    expect(w1![0]).toBeNull(); // 1 Sep 2026 is a Tuesday
    expect(w1![1]).toMatchObject({
      date: '2026-09-01',
      schoolDay: true,
      am: { code: '/', category: 'present' },
    });
    expect(w1![2]).toMatchObject({
      date: '2026-09-02',
      counted: true,
      am: { code: 'N', category: 'unauthorised_absence' },
    });
    expect(w1![4]!.pm).toMatchObject({ code: 'X', category: 'not_possible' });
    expect(w2![0]!.date).toBe('2026-09-07');
    const inset = y.months[0]!.weeks[1]![4]!;
    expect(inset).toMatchObject({ date: '2026-09-11', schoolDay: false, am: { code: '/' } });
    expect(y.months[0]!.weeks.every((w) => w.length === 5)).toBe(true);
  });

  it('gives each school week its own rate and the rate since 1 September', () => {
    expect(
      y.weeks.map((w) => [w.monday, w.attended, w.possible, w.toDate.attended, w.toDate.possible]),
    ).toEqual([
      ['2026-08-31', 3, 7, 3, 7],
      ['2026-09-07', 2, 2, 5, 9],
    ]);
  });

  it('a week with no school day (half term) has no point on the trend', () => {
    const y2 = pupilYear([], calendar, '2026-10-19', '2026-11-03', new Set());
    expect(y2.weeks.map((w) => w.monday)).toEqual(['2026-10-19', '2026-11-02']);
    expect(y2.weeks[0]!.rate).toBeNull();
  });
});

describe('the days a trigger counted', () => {
  const absent = [...day('2026-09-02', 'I'), ...day('2026-09-03', '/'), ...day('2026-09-04', 'N', '/')];

  it('are the days or sessions its evidence lists', () => {
    expect(
      countedDays(
        { from: '2026-09-02', to: '2026-09-04', days: [{ date: '2026-09-02', am: 'I', pm: 'I' }] },
        absent,
      ),
    ).toEqual(['2026-09-02']);
    expect(countedDays({ sessions: [{ date: '2026-09-04', session: 'AM', code: 'N' }] }, absent)).toEqual([
      '2026-09-04',
    ]);
  });

  it('are the absent days of a period counted without a list (illness over a term)', () => {
    expect(countedDays({ from: '2026-09-01', to: '2026-09-30', count: 2 }, absent)).toEqual([
      '2026-09-02',
      '2026-09-04',
    ]);
  });

  it('are the days of its own codes when it names them (illness: not the unexplained N day too)', () => {
    expect(countedDays({ from: '2026-09-01', to: '2026-09-30', count: 1, codes: ['I'] }, absent)).toEqual([
      '2026-09-02',
    ]);
  });

  it('are none for a rate over a window: every session counts, no day stands out', () => {
    expect(countedDays({ from: '2026-09-01', to: '2026-09-30', possible: 40, attended: 30 }, absent)).toEqual(
      [],
    );
    expect(countedDays(null, absent)).toEqual([]);
  });
});
