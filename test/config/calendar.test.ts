import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.ts';
import { configProblems, MINIMAL_SCHOOL } from '../helpers/config.ts';

const BASE = `${MINIMAL_SCHOOL}    calendar:
`;

const problems = (calendar: string) => configProblems(`${BASE}${calendar}`);

describe('calendar: dates that exist, terms in order', () => {
  it('refuses a date that does not exist, and one not written YYYY-MM-DD', () => {
    expect(
      problems(`      terms: [{ start: "2026-09-02", end: "2026-13-01" }]
      closures: [{ from: "2026-02-30", kind: inset }, { from: "3/11/2026", kind: inset }]
`),
    ).toEqual([
      'schools[0].calendar.terms[0].end (line 10): expected a date that exists, as YYYY-MM-DD, got "2026-13-01"',
      'schools[0].calendar.closures[0].from (line 11): expected a date that exists, as YYYY-MM-DD, got "2026-02-30"',
      'schools[0].calendar.closures[1].from (line 11): expected a date as YYYY-MM-DD, got "3/11/2026"',
    ]);
    // 29 February exists in a leap year.
    expect(
      parseConfigText(`${BASE}      closures: [{ from: "2028-02-29", kind: inset }]\n`, { env: {} }).ok,
    ).toBe(true);
  });

  it('refuses a term that ends before it starts (a year typo), naming its end', () => {
    expect(
      problems(`      terms:
        - { start: "2026-09-02", end: "2025-12-18" }
        - { start: "2027-01-05", end: "2027-03-26" }
`),
    ).toEqual([
      'schools[0].calendar.terms[0].end (line 11): expected the term\'s last day on or after its first (start 2026-09-02), got "2025-12-18"',
    ]);
  });

  it('refuses a closure whose to is before its from', () => {
    expect(problems(`      closures: [{ from: "2026-11-13", to: "2026-11-03", kind: closure }]\n`)).toEqual([
      'schools[0].calendar.closures[0].to (line 10): expected the closure\'s last day on or after its first (from 2026-11-13), got "2026-11-03"',
    ]);
  });

  it('refuses overlapping terms, naming both', () => {
    expect(
      problems(`      terms:
        - { start: "2026-09-02", end: "2026-10-23" }
        - { start: "2026-10-19", end: "2026-12-18" }
        - { start: "2027-01-05", end: "2027-03-26" }
`),
    ).toEqual([
      'schools[0].calendar.terms[1].start (line 12): the term 2026-10-19 to 2026-12-18 overlaps terms[0] (2026-09-02 to 2026-10-23): terms may not overlap',
    ]);
  });

  it('accepts terms out of order, one-day terms and closures, and terms that meet without sharing a day', () => {
    expect(
      parseConfigText(
        `${BASE}      terms:
        - { start: "2027-01-05", end: "2027-03-26" }
        - { start: "2026-09-02", end: "2026-12-18" }
        - { start: "2026-12-19", end: "2026-12-19" }
      closures: [{ from: "2026-11-13", to: "2026-11-13", kind: inset }]
`,
        { env: {} },
      ).ok,
    ).toBe(true);
  });
});
