import type { SchoolConfig } from '../config/schema.ts';
import { addDays } from '../domain/attendance/dates.ts';

/** How far ahead the end of a school's last configured term is said (school days are counted by the terms). */
export const CALENDAR_WARN_DAYS = 28;

/**
 * Whether a school's calendar runs out: after its last configured term every day is a closed day to
 * the trigger rules (`after-term`), so marks there count for nothing and no trigger is raised — a
 * silent stop. Said once the last term has ended or ends within `CALENDAR_WARN_DAYS` of `today`
 * (`YYYY-MM-DD`, Europe/London); null while the calendar reaches further, or has no terms (said
 * elsewhere: then every weekday counts).
 */
export function calendarEnds(school: SchoolConfig, today: string): string | null {
  const ends = school.calendar.terms.map((t) => t.end).sort();
  const last = ends.at(-1);
  if (!last) return null;
  if (last < today)
    return `the calendar's last term ended on ${last}: every day since counts as closed, so marks count for nothing and no trigger is raised — add the next terms to calendar.terms`;
  if (last <= addDays(today, CALENDAR_WARN_DAYS))
    return `the calendar's last term ends on ${last}: after it every day counts as closed and no trigger is raised — add the next terms to calendar.terms`;
  return null;
}
