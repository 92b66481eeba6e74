import { addDays } from '../attendance/dates.ts';

/** How far ahead a visit may be planned, or moved (a school year). */
export const MAX_DAYS_AHEAD = 366;

/**
 * What is wrong with a day asked for a visit (planned or moved to), or null: a visit leaves only on
 * its day, so a day gone by could never be made, and one over a year ahead is a typing slip. Pure:
 * `today` is the London date.
 */
export function plannedDayProblem(day: string, today: string): string | null {
  if (day < today) return `expected today (${today}) or later`;
  const last = addDays(today, MAX_DAYS_AHEAD);
  if (day > last) return `expected a day within a year (by ${last})`;
  return null;
}
