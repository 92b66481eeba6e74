import type { SchoolConfig } from '../config/schema.ts';
import { escalationRouting } from '../config/sections/escalation-hours.ts';
import { londonDate } from '../domain/attendance/dates.ts';
import type { SchoolCalendar } from '../domain/calendar.ts';
import { type AlarmOrigin, policyFor } from '../domain/escalation/ladder.ts';
import {
  chooseLadder,
  type EscalationRouting,
  type LadderPeriod,
  periodAt,
  type RoutedPolicy,
} from '../domain/escalation/routing.ts';
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

/** The period `at` falls in at `school` (school hours, out of hours, …); null with no ladders by time. */
export function periodFor(school: SchoolConfig, at: Date): LadderPeriod | null {
  if (!school.escalationHours) return null;
  const k = routingOf(school, school.escalationHours, at);
  return periodAt(k.calendar, k.routing.hours, at);
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
