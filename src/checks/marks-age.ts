import type { SchoolConfig } from '../config/schema.ts';
import { addDays } from '../domain/attendance/dates.ts';
import type { SchoolCalendar } from '../domain/calendar.ts';
import { calendarFor } from '../triggers/calendar-for.ts';

/** What a school with no marks at all is told: no trigger can fire. */
export const NO_MARKS =
  'no attendance marks have been imported for this school yet: no trigger can fire until they are (check its MIS connection or drop folder)';

/** How many school days with no marks at all, before today, are said on the data page. */
export const MARKS_STALE_SCHOOL_DAYS = 3;

/**
 * Whether the school's marks have stopped coming in while its syncs still "work": an export whose
 * date range was never moved on, a report that brings nothing new — every import applied, no error
 * anywhere, and no trigger can fire for the days missing. Said once `MARKS_STALE_SCHOOL_DAYS` school
 * days (by the school's calendar) before `today` have no mark for any pupil; null while marks are
 * recent. A school with no marks at all says so too: it looks clean (nothing waiting) while nothing
 * can be waiting.
 */
export function marksStale(latest: string | null, today: string, calendar: SchoolCalendar): string | null {
  if (latest === null) return NO_MARKS;
  if (latest >= today) return null;
  let missing = 0;
  for (let d = addDays(latest, 1); d < today; d = addDays(d, 1)) if (calendar.isSchoolDay(d)) missing++;
  if (missing < MARKS_STALE_SCHOOL_DAYS) return null;
  return `the latest marks are for ${latest}: the ${missing} school days since have none for any pupil — the export may have stopped moving on (a report's date range, a sync that brings nothing new), and no trigger can fire for those days`;
}

/**
 * `marksStale` for a school by its own calendar — null for a school that has entered no terms: every
 * weekday counts as a school day there, and each holiday and INSET day would read as marks stopped
 * (`doorstep check` says the terms are missing).
 */
export function schoolMarksStale(school: SchoolConfig, latest: string | null, today: string): string | null {
  if (latest === null) return NO_MARKS;
  if (school.calendar.terms.length === 0) return null;
  return marksStale(latest, today, calendarFor(school, today));
}
