import type { SchoolConfig } from '../config/schema.ts';
import { escalationRouting } from '../config/sections/escalation-hours.ts';
import { londonDate } from '../domain/attendance/dates.ts';
import type { SchoolCalendar } from '../domain/calendar.ts';
import { type AlarmOrigin, policyFor } from '../domain/escalation/ladder.ts';
import {
  chooseLadder,
  type EscalationRouting,
  periodAt,
  type RoutedPolicy,
} from '../domain/escalation/routing.ts';
import type { OfficePeriod } from '../domain/visits/office-line.ts';
import { calendarFor } from '../triggers/calendar-for.ts';

/** Per school config: its routing, and its calendar for the last London day asked about. */
const known = new WeakMap<
  SchoolConfig,
  { routing: EscalationRouting; today: string; calendar: SchoolCalendar }
>();

/**
 * The ladder an alarm of `type` raised at `at` follows at `school`, as the domain chooses it from
 * the school's ladders, its `escalationHours` and its calendar (src/domain/escalation/routing.ts).
 * Every place that raises an alarm asks this, with the instant it raises it at, and snapshots the
 * answer onto the alarm (with the period that chose it, when the school has ladders by time).
 */
export function ladderFor(
  school: SchoolConfig,
  type: string,
  at: Date,
  /** `fob`: a device's own alarm (a device alarm whatever its kind); `register`: the visit watcher's. */
  origin: AlarmOrigin = 'register',
): RoutedPolicy {
  // No ladders by time: every period has the school's ladders (the snapshot names no period).
  if (!school.escalationHours) return policyFor(school.escalation, type, origin);
  const k = routingOf(school, school.escalationHours, at);
  return chooseLadder(k.routing, k.calendar, at, type, origin);
}

/**
 * The period `at` falls in at `school` (school hours, out of hours, …) as the office's presence is
 * judged (`OfficePeriod`): null with no ladders by time; `school-day` on a school day at a school whose
 * `escalationHours` give no school hours (its ladders there are its own, `school-hours` to `ladderFor`,
 * but nothing says its office is at its screen).
 */
export function periodFor(school: SchoolConfig, at: Date): OfficePeriod {
  if (!school.escalationHours) return null;
  const k = routingOf(school, school.escalationHours, at);
  const period = periodAt(k.calendar, k.routing.hours, at);
  return period === 'school-hours' && !k.routing.hours ? 'school-day' : period;
}

function routingOf(
  school: SchoolConfig,
  hours: NonNullable<SchoolConfig['escalationHours']>,
  at: Date,
): { routing: EscalationRouting; calendar: SchoolCalendar } {
  const today = londonDate(at);
  let k = known.get(school);
  if (!k || k.today !== today) {
    k = {
      routing: k?.routing ?? escalationRouting(school.escalation, hours),
      today,
      calendar: calendarFor(school, today),
    };
    known.set(school, k);
  }
  return k;
}
