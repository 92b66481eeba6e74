import { describe, expect, it } from 'vitest';
import { CODES, codeMapProblems, resolveCode } from '../../../src/domain/attendance/codes.ts';
import {
  academicYearOf,
  addDays,
  dayNumber,
  isIsoDate,
  londonDate,
  weekday,
} from '../../../src/domain/attendance/dates.ts';

describe('DfE 2024 attendance codes', () => {
  it('holds every code of the 2024 regulations in its statistical category', () => {
    const byCategory = (cat: string) =>
      [...CODES.values()]
        .filter((c) => c.category === cat)
        .map((c) => c.code)
        .sort();
    expect(byCategory('present')).toEqual(['/', 'L', '\\'].sort());
    expect(byCategory('approved_activity')).toEqual(['B', 'K', 'P', 'V', 'W']);
    expect(byCategory('authorised_absence')).toEqual(['C', 'C1', 'C2', 'E', 'I', 'J1', 'M', 'R', 'S', 'T']);
    expect(byCategory('unauthorised_absence')).toEqual(['G', 'N', 'O', 'U']);
    expect(byCategory('not_possible')).toEqual([
      '#',
      'D',
      'Q',
      'X',
      'Y1',
      'Y2',
      'Y3',
      'Y4',
      'Y5',
      'Y6',
      'Y7',
      'Z',
    ]);
    expect(CODES.size).toBe(34);
  });

  it('resolves statutory codes and, first, the school’s local codes', () => {
    expect(resolveCode('N', '2025-01-13')).toEqual({
      ok: true,
      code: 'N',
      category: 'unauthorised_absence',
      localCode: null,
    });
    expect(resolveCode(' J1 ', '2025-01-13')).toMatchObject({
      ok: true,
      code: 'J1',
      category: 'authorised_absence',
    });
    expect(resolveCode('X01', '2025-01-13', { X01: 'B' })).toEqual({
      ok: true,
      code: 'B',
      category: 'approved_activity',
      localCode: 'X01',
    });
  });

  it('answers a code again from what it resolved before, each school map on its own', () => {
    const lime = { X01: 'B' };
    const heath = { X01: 'V' };
    for (let i = 0; i < 3; i++) {
      expect(resolveCode('X01', '2025-01-13', lime)).toMatchObject({ ok: true, code: 'B', localCode: 'X01' });
      expect(resolveCode('X01', '2025-01-13', heath)).toMatchObject({
        ok: true,
        code: 'V',
        localCode: 'X01',
      });
      expect(resolveCode('X01', '2025-01-13')).toMatchObject({ ok: false });
      expect(resolveCode('H', i === 1 ? '2024-08-18' : '2024-08-19')).toMatchObject({ ok: false });
    }
  });

  it('refuses withdrawn codes from 2024-08-19 and says what replaced them', () => {
    expect(resolveCode('H', '2024-08-19')).toEqual({
      ok: false,
      reason: 'withdrawn code: H (agreed holiday) was withdrawn on 2024-08-19; use C for exceptional leave',
    });
    expect(resolveCode('J', '2025-03-03')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('use J1'),
    });
    expect(resolveCode('Y', '2025-03-03')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('Y1–Y7'),
    });
  });

  it('says a withdrawn code dated before 2024-08-19 (legal then) is from before the 2024 code set, not mapped', () => {
    for (const code of ['H', 'J', 'Y']) {
      expect(resolveCode(code, '2024-08-18')).toEqual({
        ok: false,
        reason: `code "${code}" on 2024-08-18 is from before the 2024 code set (legal then, withdrawn on 2024-08-19); no code of the 2024 table means the same with certainty, so it is not taken`,
        beforeCodeSet: true,
      });
    }
    // A school that maps the old code itself (its code map) has it taken as it says — dated before
    // 2024-08-19 only.
    expect(resolveCode('H', '2024-07-01', { H: 'C' })).toMatchObject({ ok: true, code: 'C', localCode: 'H' });
  });

  it("refuses a withdrawn code dated from 2024-08-19 whatever the school's map says of it; the map serves the days before", () => {
    const map = { H: 'C', J: 'J1', Y: 'Y1' };
    // Asked again and again, before and after the day, in either order: an answer for one date is
    // never taken for the other.
    for (let i = 0; i < 2; i++) {
      expect(resolveCode('H', '2025-01-16', map)).toEqual({
        ok: false,
        reason: 'withdrawn code: H (agreed holiday) was withdrawn on 2024-08-19; use C for exceptional leave',
      });
      expect(resolveCode('H', '2024-08-18', map)).toMatchObject({ ok: true, code: 'C', localCode: 'H' });
      expect(resolveCode('H', '2024-08-19', map)).toMatchObject({
        ok: false,
        reason: expect.stringContaining('withdrawn code: H'),
      });
      expect(resolveCode(' J ', '2025-03-03', map)).toMatchObject({
        ok: false,
        reason: expect.stringContaining('use J1'),
      });
      expect(resolveCode('J', '2024-07-01', map)).toMatchObject({ ok: true, code: 'J1', localCode: 'J' });
      expect(resolveCode('Y', '2025-03-03', map)).toMatchObject({
        ok: false,
        reason: expect.stringContaining('Y1–Y7'),
      });
      expect(resolveCode('Y', '2024-07-01', map)).toMatchObject({ ok: true, code: 'Y1', localCode: 'Y' });
    }
  });

  it('refuses unknown and empty marks and a local map to a non-statutory code', () => {
    expect(resolveCode('Q9', '2025-01-13')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('unknown attendance code "Q9"'),
    });
    expect(resolveCode('  ', '2025-01-13')).toEqual({ ok: false, reason: 'empty attendance mark' });
    expect(resolveCode('X02', '2025-01-13', { X02: 'ZZ' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not a statutory code'),
    });
    expect(codeMapProblems({ X01: 'B', X02: 'H' })).toEqual([
      '"X02" maps to "H", which is not a statutory code',
    ]);
  });
});

describe('dates', () => {
  it('counts days from 1970 as Date.UTC does, and names the academic year, for every day 1900–2200', () => {
    for (let t = Date.UTC(1900, 0, 1); t <= Date.UTC(2200, 11, 31); t += 86_400_000) {
      const date = new Date(t).toISOString().slice(0, 10);
      expect(dayNumber(date)).toBe(t / 86_400_000);
      const [y, m] = date.split('-').map(Number) as [number, number];
      expect(academicYearOf(date)).toBe(m >= 9 ? y : y - 1);
    }
    // Not a date: no year, as Number() gave (":" is the character after "9").
    expect(academicYearOf('1:24-10-01')).toBeNaN();
    expect(dayNumber('2024-1O-01')).toBeNaN();
  });

  it('validates, adds and names days without time-zone surprises', () => {
    expect(isIsoDate('2025-02-29')).toBe(false);
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(addDays('2025-03-29', 2)).toBe('2025-03-31'); // across the clocks going forward
    expect(weekday('2025-01-13')).toBe(1);
    expect(academicYearOf('2025-01-13')).toBe(2024);
    expect(academicYearOf('2025-09-01')).toBe(2025);
    expect(londonDate(new Date('2025-06-30T23:30:00Z'))).toBe('2025-07-01'); // BST
    expect(londonDate(new Date('2025-12-31T23:30:00Z'))).toBe('2025-12-31'); // GMT
  });
});
