import type { SchoolConfig } from '../config/schema.ts';
import type { ClosedDay } from '../domain/calendar.ts';
import { doorstepError } from '../errors.ts';
import { calendarFor } from '../triggers/calendar-for.ts';
import { familyDate } from './family-notice.ts';

/**
 * A visit planned for a day the school is closed — a weekend, a holiday, a closure — is not refused
 * (a visit in the holidays can be meant), but a person asking for it, or moving it there, confirms it
 * first: "Planned for" starts at today, and a Saturday went by unnoticed, the family's text then
 * reading "a home visit on Saturday 5 December". The school's calendar decides (terms and closures;
 * a school that entered no terms: weekends and closures only).
 */

/** Why `date` is no school day at the school, in words ("a weekend"), or null. */
export function closedDayWords(school: SchoolConfig, date: string): string | null {
  // Judged as of that day, so a school with no terms entered has every weekday a school day.
  const closed = calendarFor(school, date).whyClosed(date);
  return closed ? wordsFor(closed) : null;
}

function wordsFor(c: ClosedDay): string {
  const note = c.note ? ` — ${c.note}` : '';
  switch (c.kind) {
    case 'weekend':
      return 'a weekend';
    case 'holiday':
      return 'in the school holidays';
    case 'before-term':
    case 'after-term':
      return 'outside the terms of the school year';
    case 'inset':
      return `an INSET day: the school is closed to pupils${note}`;
    case 'bank-holiday':
      return `a bank holiday${note}`;
    default:
      return `the school is closed${note}`;
  }
}

/**
 * Refuses (409) a day the school is closed, unless `confirmed`: the message, beginning with the
 * request's field, says which day, why, and how to confirm it (`closedDayConfirmed: true`).
 */
export function confirmClosedDay(
  school: SchoolConfig,
  date: string,
  field: 'plannedFor' | 'date',
  confirmed: boolean,
): void {
  if (confirmed) return;
  const why = closedDayWords(school, date);
  if (why)
    throw doorstepError(
      'CONFLICT',
      `${field}: ${familyDate(date)} ${date.slice(0, 4)} is not a school day at ${school.name} (${why}) — if the visit is meant for that day, confirm it (closedDayConfirmed: true)`,
    );
}
