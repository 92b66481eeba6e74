import { describe, expect, it } from 'vitest';
import { marksStale, NO_MARKS, schoolMarksStale } from '../../src/checks/marks-age.ts';
import { SchoolCalendar } from '../../src/domain/calendar.ts';
import { configWith } from '../helpers/config.ts';

/** Marks that stop coming in while every sync still applies: no error anywhere, and no trigger fires. */
describe('marks that stopped coming in', () => {
  const calendar = new SchoolCalendar({
    terms: [{ start: '2026-11-02', end: '2026-12-18' }],
    closures: [{ from: '2026-11-20', to: '2026-11-20', kind: 'inset', note: 'INSET' }],
  });

  it('are said once three school days before today have no mark for anyone (weekends and closures not counted)', () => {
    // Latest marks Tuesday 17th; Wed 18, Thu 19 school days, Fri 20 INSET, the weekend: two missing.
    expect(marksStale('2026-11-17', '2026-11-23', calendar)).toBeNull();
    expect(marksStale('2026-11-17', '2026-11-24', calendar)).toBe(
      "the latest marks are for 2026-11-17: the 3 school days since have none for any pupil — the export may have stopped moving on (a report's date range, a sync that brings nothing new), and no trigger can fire for those days",
    );
  });

  it('say nothing at a school with no terms entered (every weekday would count; a holiday read as marks stopped)', () => {
    expect(schoolMarksStale(configWith().schools[0]!, '2026-07-20', '2026-09-01')).toBeNull();
  });

  it('say that a school has no marks at all (it would look clean with nothing waiting), and nothing with marks up to yesterday', () => {
    expect(marksStale(null, '2026-11-24', calendar)).toBe(NO_MARKS);
    expect(schoolMarksStale(configWith().schools[0]!, null, '2026-09-01')).toMatch(
      /^no attendance marks have been imported/,
    );
    expect(marksStale('2026-11-23', '2026-11-24', calendar)).toBeNull();
  });
});
