import { firstLevelOnlyOnBoard } from '../escalation/delivery.ts';
import type { LadderPeriod } from '../escalation/routing.ts';

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
 * would otherwise ring an empty room believing someone is there. Null when the school gives no number
 * (the page offers 999 only).
 */
export function officeLine(
  school: { phone?: string | undefined; outOfHoursPhone?: string | undefined },
  /** The period now (src/domain/escalation/routing.ts); null when the school has no ladders by time. */
  period: LadderPeriod | null,
): OfficeLine | null {
  if (period === null || period === 'school-hours')
    return school.phone ? { phone: school.phone, label: 'Call the office' } : null;
  if (school.outOfHoursPhone) return { phone: school.outOfHoursPhone, label: 'Call the on-call number' };
  return school.phone ? { phone: school.phone, label: 'Call the office (may be closed now)' } : null;
}

/**
 * Out of school hours (an evening, a weekend, a holiday: a period the school's `escalationHours`
 * names), a ladder that watches a visit — its overdue return, its missed check-in where it checks in
 * — begins with the board alone (and the people on the visit themselves): the alarm would be on the
 * office's screen, which nobody may be watching then, before any person is messaged. The phone page
 * then never says "the office knows where you are", but that it is on the office's screen and whom to
 * phone. In school hours, or where Doorstep does not know the school's hours, the office is at it.
 */
export function watchOnlyOnBoard(
  period: LadderPeriod | null,
  /** The ladders the visit's alarms would follow if raised now (overdue; missed check-in). */
  ladders: readonly { levels: readonly { notify: readonly string[] }[] }[],
): boolean {
  if (period === null || period === 'school-hours') return false;
  return ladders.some(firstLevelOnlyOnBoard);
}
