import { ladderFor, periodFor } from '../alarms/ladder-for.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { type OfficeLine, officeLine, watchOnlyOnBoard } from '../domain/visits/office-line.ts';

/**
 * What the phone page tells a worker of who watches them at `at`: whether a missed check-in or an
 * overdue return would be on the office's screen alone, out of hours (`watchOnlyOnBoard`: the ladders
 * the watcher would raise them on now, as `ladderFor` chooses them), and whom to phone (the call
 * button's number and words). `checkIns`: the visit checks in (else its missed check-in ladder never runs).
 */
export function watchNow(
  school: SchoolConfig,
  at: Date,
  checkIns: boolean,
): { watchOnlyOnBoard: boolean; office: OfficeLine | null } {
  const period = periodFor(school, at);
  const ladders = [
    ladderFor(school, 'overdue_visit', at),
    ...(checkIns ? [ladderFor(school, 'missed_check_in', at)] : []),
  ];
  return { watchOnlyOnBoard: watchOnlyOnBoard(period, ladders), office: officeLine(school, period) };
}
