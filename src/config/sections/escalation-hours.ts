import * as z from 'zod';
import { NO_ECHO } from '../../core/settings.ts';
import { escalationPolicy, laddersByKind } from '../../domain/escalation/ladder.ts';
import {
  type EscalationRouting,
  type HoursWindow,
  parseHoursWindow,
  type SchoolHours,
} from '../../domain/escalation/routing.ts';

/**
 * `escalationHours`: ladders that differ by time (src/domain/escalation/routing.ts). The school's
 * `escalation` ladders run in school hours; `outOfHours` replaces the kinds it names on school days
 * outside `schoolDay` (or that weekday's own hours), `weekend` and `holiday` replace kinds on those
 * days (each laid over `outOfHours`). Europe/London; school days from the school's `calendar`.
 */
const hoursWindow = z.string().refine((s) => parseHoursWindow(s) !== null, {
  error: 'expected hours as HH:MM-HH:MM (24-hour, the end after the start), e.g. 08:00-17:00',
});
const ladders = laddersByKind(escalationPolicy);
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;

export const escalationHoursSettings = z
  .strictObject({
    /** School hours on a school day, e.g. "08:00-17:00". */
    schoolDay: hoursWindow.optional(),
    /** A weekday whose hours differ, e.g. `fri: "08:00-15:30"`. */
    mon: hoursWindow.optional(),
    tue: hoursWindow.optional(),
    wed: hoursWindow.optional(),
    thu: hoursWindow.optional(),
    fri: hoursWindow.optional(),
    /** Ladders by kind on a school day outside its hours (and, unless they name their own, weekends and holidays). */
    outOfHours: ladders.optional(),
    /** Ladders by kind on Saturdays and Sundays. */
    weekend: ladders.optional(),
    /** Ladders by kind on weekdays the calendar says the school is closed (holidays, INSET days, bank holidays, closures). */
    holiday: ladders.optional(),
  })
  .superRefine((h, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({
        code: 'custom',
        path: [path],
        input: h[path as keyof typeof h],
        params: { [NO_ECHO]: true },
        message,
      });
    if (!h.outOfHours && !h.weekend && !h.holiday)
      ctx.addIssue({
        code: 'custom',
        path: [],
        input: h,
        params: { [NO_ECHO]: true },
        message: 'expected at least one of outOfHours, weekend or holiday (the ladders that differ by time)',
      });
    if (h.outOfHours && !h.schoolDay)
      issue(
        'schoolDay',
        'required with outOfHours: the school hours outside which its ladders run, e.g. 08:00-17:00',
      );
    if (h.schoolDay && !h.outOfHours)
      issue('outOfHours', 'required with schoolDay: the ladders that run outside school hours');
    for (const d of WEEKDAYS)
      if (h[d] && !h.schoolDay) issue(d, `${d}'s hours need schoolDay (the hours of every other school day)`);
  });

export type EscalationHoursSettings = z.output<typeof escalationHoursSettings>;

/** A school's routing for the domain: its ladders, and the variants and hours its `escalationHours` sets. */
export function escalationRouting(
  base: EscalationRouting['base'],
  h: EscalationHoursSettings | undefined,
): EscalationRouting {
  if (!h) return { base };
  const window = (s: string | undefined): HoursWindow | undefined =>
    s === undefined ? undefined : (parseHoursWindow(s) ?? undefined);
  const schoolDay = window(h.schoolDay);
  let hours: SchoolHours | undefined;
  if (schoolDay) {
    hours = { schoolDay, byWeekday: {} };
    WEEKDAYS.forEach((d, i) => {
      const w = window(h[d]);
      if (w) hours!.byWeekday[(i + 1) as 1 | 2 | 3 | 4 | 5] = w;
    });
  }
  return { base, hours, outOfHours: h.outOfHours, weekend: h.weekend, holiday: h.holiday };
}
