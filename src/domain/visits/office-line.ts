import { VISITING_STAFF } from '../escalation/ladder.ts';
import type { LadderPeriod } from '../escalation/routing.ts';

/**
 * The period as the office's presence is judged: a ladder period (src/domain/escalation/routing.ts),
 * null at a school with no ladders by time, or `school-day` — a school day at a school whose
 * `escalationHours` give no school hours (weekend or holiday ladders only, no `schoolDay`). Its alarms
 * follow the school's own ladders at every hour of such a day (`school-hours` to the routing), but
 * when its office is at its screen is not known: 03:00 on a Tuesday is not school hours.
 */
export type OfficePeriod = LadderPeriod | 'school-day' | null;

/** The number the phone page's call button rings, and what the button says. */
export interface OfficeLine {
  phone: string;
  label: string;
}

/**
 * Who a worker out on a visit can phone for help now. In school hours (or at a school with no ladders
 * by time, whose hours Doorstep does not know), the office. Outside them — a school day's evening, a
 * weekend, a holiday — the school's `outOfHoursPhone` (an on-call leader's mobile) when it gives one;
 * else the office's number, said to be possibly closed: a worker pressing "Call the office" at 18:00
 * would otherwise ring an empty room believing someone is there. On a school day whose hours the
 * school does not give (`school-day`: it gives weekend or holiday ladders only) the office too, said to
 * be possibly closed — it may be 03:00, or 10:00, when the on-call leader is teaching — and the on-call
 * number only where the school gives no office number. Null when the school gives no number (the
 * page offers 999 only).
 */
export function officeLine(
  school: { phone?: string | undefined; outOfHoursPhone?: string | undefined },
  /** The period now (`OfficePeriod`); null when the school has no ladders by time. */
  period: OfficePeriod,
): OfficeLine | null {
  if (period === null || period === 'school-hours')
    return school.phone ? { phone: school.phone, label: 'Call the office' } : null;
  if (period === 'school-day' && school.phone)
    return { phone: school.phone, label: 'Call the office (may be closed now)' };
  if (school.outOfHoursPhone) return { phone: school.outOfHoursPhone, label: 'Call the on-call number' };
  return school.phone ? { phone: school.phone, label: 'Call the office (may be closed now)' } : null;
}

/**
 * Whether an alarm raised in `period` on one of `ladders` (a visit's overdue return, its missed
 * check-in where it checks in, its silent fob where the school watches for one) would first reach only
 * the board (and the people on the visit themselves): on the office's screen, which nobody may be
 * watching then, before any person is messaged. The phone page then never says "the office knows
 * where you are", but that it is on the office's screen and whom to phone. Only in school hours the
 * office is known to be at its screen (`school-hours`: the school's `escalationHours` say so); a school
 * that gives no hours (`period` null), or gives them for weekends and holidays only (`school-day` on
 * its weekdays), still has a board nobody may watch at night, so its ladders are judged as "I am still
 * out" judges them (`firstLevelOnlyOnBoard`) — and a first level whose other targets reach no person
 * (`reachesPerson` false for each: an SMS group with no SMS channel configured, a group nobody in which
 * has a phone number) is the board alone too: its texts are never sent.
 */
export function watchOnlyOnBoard(
  period: OfficePeriod,
  /** The ladders the visit's alarms would follow if raised in that period. */
  ladders: readonly { levels: readonly { notify: readonly string[] }[] }[],
  /**
   * Whether one target of a level (`sms:on-call-leaders`) reaches a person, as the school's config
   * (and what the store knows) says: the test `doorstep check` warns by (src/checks/reachability.ts).
   */
  reachesPerson: (target: string) => boolean,
): boolean {
  if (period === 'school-hours') return false;
  return ladders.some((ladder) => firstLevelReachesNoPerson(ladder, reachesPerson));
}

/**
 * Whether a ladder's first level tells no person: only the board and the people on the visit (as
 * `firstLevelOnlyOnBoard` in src/domain/escalation/delivery.ts), or other targets that reach no one
 * (`reachesPerson` false for each). A ladder with no levels tells no one. Pure.
 */
export function firstLevelReachesNoPerson(
  ladder: { levels: readonly { notify: readonly string[] }[] },
  reachesPerson: (target: string) => boolean,
): boolean {
  return !(ladder.levels[0]?.notify ?? []).some(
    (t) => t !== 'board' && t.split(':')[1] !== VISITING_STAFF && reachesPerson(t),
  );
}

const MINUTE = 60_000;

/**
 * The instants from `from` to `to` (inclusive) at which the period a school's alarms are routed by
 * begins anew: `from`, then each whole minute at which `periodAt` differs from the minute before.
 * London's days and a school's hours (`HH:MM`) turn only on a whole minute, so every period the watch
 * of a visit passes through is named once, at its first instant in the window. Pure.
 */
export function periodTurns<P>(from: Date, to: Date, periodAt: (at: Date) => P): Date[] {
  const turns = [from];
  let last = periodAt(from);
  for (let t = Math.floor(from.getTime() / MINUTE) * MINUTE + MINUTE; t <= to.getTime(); t += MINUTE) {
    const p = periodAt(new Date(t));
    if (p !== last) turns.push(new Date(t));
    last = p;
  }
  return turns;
}
