import type { SchoolConfig } from '../config/schema.ts';
import type { VisitRules } from '../domain/visits/rules.ts';

/**
 * A school whose policy sends staff out with a fob (`requires.fob`) but that has not said how long a
 * fob may be silent (`fobs.silentAlarmMinutes`): a fob that goes flat or off on a visit is noticed by
 * nothing until the visit is overdue (Heath Lane: no check-in interval, a return up to 4 hours out) —
 * while the worker believes its SOS button protects them. How often a fob reports is the vendor's,
 * so Doorstep does not choose the number; it says the gap.
 */
export function fobWatchGap(s: SchoolConfig, rules: VisitRules): string | null {
  if (!rules.requires?.fob || s.fobs.silentAlarmMinutes !== undefined) return null;
  return `the policy sends staff out with a fob, but fobs.silentAlarmMinutes is not set: a fob that goes flat or off on a visit raises nothing until the visit is overdue${rules.checkInMinutes ? '' : ' (no check-in interval either)'} — set it to a little over how often the school's fobs report (the vendor says)`;
}
