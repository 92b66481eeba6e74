import type { SchoolConfig } from '../config/schema.ts';
import { academicYearOf } from '../domain/attendance/dates.ts';
import { type CalendarSpec, SchoolCalendar } from '../domain/calendar.ts';

/**
 * The school's calendar from its config. A school that has not entered its terms gets every weekday
 * from the start of last academic year to today (its closures still apply) — `doorstep check` says so,
 * because bank holidays and INSET days then look like school days without marks.
 */
export function calendarFor(school: SchoolConfig, today: string): SchoolCalendar {
  const closures = school.calendar.closures.map((c) => ({
    from: c.from,
    to: c.to ?? c.from,
    kind: c.kind,
    note: c.note,
  }));
  const terms = school.calendar.terms.length
    ? school.calendar.terms
    : [{ start: `${academicYearOf(today) - 1}-09-01`, end: today }];
  const spec: CalendarSpec = { terms, closures };
  return new SchoolCalendar(spec);
}
