import { ladderFor, periodFor } from '../alarms/ladder-for.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { type OfficeLine, officeLine, periodTurns, watchOnlyOnBoard } from '../domain/visits/office-line.ts';
import type { VisitRules } from '../domain/visits/rules.ts';

/** What the visit watcher (jobs/watch-visits.ts) would raise for a visit, and until when. */
export interface VisitWatch {
  /** When its overdue alarm would be raised: the expected return plus the grace (null: none set yet). */
  overdueAt: Date | null;
  /** Its missed check-in may be raised: it checks in (its interval or the policy's), or owes its arrival. */
  checkIns: boolean;
  /** Its silent fob may be raised: it is out with a fob and the school sets `fobs.silentAlarmMinutes`. */
  fobSilent: boolean;
}

/**
 * The watch of a visit as the watcher keeps it (`dueVisitAlarms`): before it leaves, as if it will
 * check in and carry a fob where the school watches for silent fobs (not known yet).
 */
export function visitWatch(
  school: Pick<SchoolConfig, 'fobs'>,
  rules: Pick<VisitRules, 'checkInMinutes' | 'arrivalCheckInMinutes' | 'overdueGraceMinutes'>,
  v: {
    departedAt: Date | null;
    expectedReturnAt: Date | null;
    checkInMinutes: number | null;
    arrivedAt: Date | null;
    lastCheckInAt: Date | null;
    fobDeviceId: string | null;
  },
): VisitWatch {
  const watchesFobs = Boolean(school.fobs.silentAlarmMinutes);
  if (!v.departedAt) return { overdueAt: null, checkIns: true, fobSilent: watchesFobs };
  const arrivalOwed = Boolean(rules.arrivalCheckInMinutes && !v.arrivedAt && !v.lastCheckInAt);
  return {
    overdueAt: v.expectedReturnAt
      ? new Date(v.expectedReturnAt.getTime() + rules.overdueGraceMinutes * 60_000)
      : null,
    checkIns: arrivalOwed || Boolean(v.checkInMinutes ?? rules.checkInMinutes),
    fobSilent: watchesFobs && v.fobDeviceId !== null,
  };
}

/**
 * What the phone page tells a worker of who watches them, decided at `now` for the whole watch: whether
 * an alarm the watcher may raise before they are overdue would first be on the office's screen alone
 * (`watchOnlyOnBoard`) — the overdue alarm on the ladder of the moment it falls due, a missed check-in
 * and a silent fob on the ladder of any moment from now until then (now, and each time the school's
 * period turns: 17:00 passed on a school day, midnight into a Saturday), as `ladderFor` chooses them
 * for the watcher — and whom to phone now (the call button's number and words). A worker leaving at
 * 16:45, back by 17:30, is overdue at 17:31 on the out-of-hours ladder: told so when leaving.
 */
export function watchNow(
  school: SchoolConfig,
  now: Date,
  watch: VisitWatch,
): { watchOnlyOnBoard: boolean; office: OfficeLine | null } {
  const period = periodFor(school, now);
  const end = watch.overdueAt && watch.overdueAt > now ? watch.overdueAt : now;
  const meanwhile = [
    ...(watch.checkIns ? ['missed_check_in'] : []),
    ...(watch.fobSilent ? ['device_silent'] : []),
  ];
  const turns = meanwhile.length ? periodTurns(now, end, (at) => periodFor(school, at)) : [];
  const ladders = [
    ladderFor(school, 'overdue_visit', end),
    ...turns.flatMap((at) => meanwhile.map((type) => ladderFor(school, type, at))),
  ];
  return {
    watchOnlyOnBoard: ladders.some((l) => watchOnlyOnBoard(l.period ?? null, [l])),
    office: officeLine(school, period),
  };
}
