import { ladderFor, periodFor } from '../alarms/ladder-for.ts';
import { pushOptedIn } from '../checks/push-reach.ts';
import { type ReachFacts, reachesAPerson, type VisitSubjects } from '../checks/reachability.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { type OfficeLine, officeLine, periodTurns, watchOnlyOnBoard } from '../domain/visits/office-line.ts';
import {
  type DeadlineRules,
  VISIT_WATCH_SLACK_MS,
  visitDeadlines,
  type WatchedVisit,
} from '../domain/visits/watch.ts';
import type { Queryable } from '../store/db.ts';
import { userById } from '../store/users.ts';
import type { VisitRow } from '../store/visits.ts';

/** What the visit watcher (jobs/watch-visits.ts) would raise for a visit, and until when. */
export interface VisitWatch {
  /** When its overdue alarm would be raised: the expected return plus the grace (null: none set yet). */
  overdueAt: Date | null;
  /** Its missed check-in may be raised: it checks in (its interval or the policy's), or owes its arrival. */
  checkIns: boolean;
  /** Its silent fob may be raised: it is out with a fob and the school sets `fobs.silentAlarmMinutes`. */
  fobSilent: boolean;
  /**
   * For a worker out: the latest its next missed check-in or silent fob may fall due — the watcher's
   * next deadline of each (`visitDeadlines`), or now where it has passed, and one more of its interval
   * after it (the worker checking in, or the fob heard, at that deadline's last moment). Null or
   * absent: none is watched yet (not left).
   */
  meanwhileUntil?: Date | null;
}

/**
 * The watch of a visit as the watcher keeps it (`visitDeadlines`, as `dueVisitAlarms` does): before
 * it leaves, as if it will check in and carry a fob where the school watches for silent fobs (not
 * known yet). The fob's last event is not read: heard at `now` is the latest its deadline can be.
 */
export function visitWatch(
  school: Pick<SchoolConfig, 'fobs'>,
  rules: DeadlineRules,
  v: {
    departedAt: Date | null;
    returnedAt?: Date | null;
    expectedReturnAt: Date | null;
    checkInMinutes: number | null;
    arrivedAt: Date | null;
    lastCheckInAt: Date | null;
    fobDeviceId: string | null;
  },
  now: Date,
): VisitWatch {
  const silentMinutes = school.fobs.silentAlarmMinutes;
  if (!v.departedAt) return { overdueAt: null, checkIns: true, fobSilent: Boolean(silentMinutes) };
  const fob = silentMinutes && v.fobDeviceId !== null ? { lastEventAt: now, silentMinutes } : null;
  const watched: WatchedVisit = { id: '', status: 'departed', ...v, returnedAt: v.returnedAt ?? null, fob };
  const due = visitDeadlines(watched, rules);
  const meanwhile = (ds: typeof due) =>
    ds.filter((d) => d.type !== 'overdue_visit').map((d) => d.dueAt.getTime());
  const next = meanwhile(due);
  // Heard from at the last moment of the later of them (or now): the deadlines that sets.
  const heard = new Date(Math.max(now.getTime(), ...next));
  const after = meanwhile(
    visitDeadlines({ ...watched, lastCheckInAt: heard, fob: fob && { ...fob, lastEventAt: heard } }, rules),
  );
  const arrivalOwed = Boolean(rules.arrivalCheckInMinutes && !v.arrivedAt);
  return {
    overdueAt: due.find((d) => d.type === 'overdue_visit')?.dueAt ?? null,
    checkIns: arrivalOwed || Boolean(v.checkInMinutes ?? rules.checkInMinutes),
    fobSilent: fob !== null,
    meanwhileUntil: next.length ? new Date(Math.max(...next, ...after)) : null,
  };
}

/**
 * The farthest ahead `watchNow` looks: the config's bounds keep every window within 10 h 2 min of now
 * (a return at most 4 h ahead plus at most 4 h of grace; a check-in at most every 240 min plus 60 of
 * grace, twice over; a fob silent at most 240 min, twice over; each plus `VISIT_WATCH_SLACK_MS`), so
 * this holds only where the register's times do not (a check-in time ahead of the clock). Each
 * minute of the window is one look at the period (`periodFor`, about 2.5 µs): at most 720 looks a
 * call — the 10-hour window about 1.4 ms (measured warm; 5 ms on a cold first call).
 */
export const WATCH_REACH_HORIZON_MS = 12 * 60 * 60_000;

/**
 * What the phone page tells a worker of who watches them, decided at `now`, and whom to phone now
 * (the call button's number and words). `watchOnlyOnBoard`: whether an alarm the watcher may still
 * raise would first be on the office's screen alone, its ladder judged as `ladderFor` chooses it for
 * the watcher — by the moment the watcher raises it, which is its deadline or up to
 * `VISIT_WATCH_SLACK_MS` later (the watcher's next run, a missed run): so at the deadline and at each
 * time the school's period turns within that slack (17:00 passed on a school day, midnight into a
 * Saturday). The alarms, and the moments judged:
 * - the overdue alarm: from its due time (the return plus the grace) to the slack after it — a return
 *   due 16:59:50 is raised at about 17:00:05 on the out-of-hours ladder, and said so;
 * - a missed check-in (where the visit checks in) and a silent fob (where it carries one): before the
 *   worker is overdue, any moment from now to the overdue time plus the slack — leaving at 16:45,
 *   back by 17:30, is told so when leaving; once overdue (the overdue alarm handled, "I am still out"
 *   past the worker's own bound setting the return to now) or with no return set, any moment from
 *   now to `meanwhileUntil` plus the slack: the next check-in and silent-fob deadline and one more of
 *   its interval — out past 16:30 checking in every 30 min, last at 16:45, is told at 16:50 that the
 *   check-in due 17:15 is out of hours.
 * Before the worker leaves, nothing is due: the ladders of now. The window is never more than
 * `WATCH_REACH_HORIZON_MS` ahead. A first level whose targets reach no person — an SMS group where no
 * SMS channel is configured, a group nobody in which has a phone number, a push nobody turned on — is
 * the board alone: judged by `reachesAPerson`, the test `doorstep check` and the data page warn by
 * ("reaches no person on any level, only the board"), with what the store says (`facts`) when given.
 */
export function watchNow(
  school: SchoolConfig,
  now: Date,
  watch: VisitWatch,
  /**
   * What the store says of whom the visit's alarms reach (`visitReachFacts`: the opted-in browsers and
   * the people on it, whom no alarm message goes to); without it, push is not judged.
   */
  facts: ReachFacts = {},
): { watchOnlyOnBoard: boolean; office: OfficeLine | null } {
  const periodAt = (at: Date) => periodFor(school, at);
  const t = now.getTime();
  const upTo = (end: number) => new Date(Math.min(end, t + WATCH_REACH_HORIZON_MS));
  const overdueAt = watch.overdueAt?.getTime() ?? null;
  const overdueTimes = periodTurns(
    new Date(Math.max(t, overdueAt ?? t)),
    upTo(overdueAt === null ? t : overdueAt + VISIT_WATCH_SLACK_MS),
    periodAt,
  );
  const meanwhile = [
    ...(watch.checkIns ? ['missed_check_in'] : []),
    ...(watch.fobSilent ? ['device_silent'] : []),
  ];
  const meanwhileEnd =
    overdueAt !== null && overdueAt > t
      ? overdueAt + VISIT_WATCH_SLACK_MS
      : watch.meanwhileUntil
        ? Math.max(t, watch.meanwhileUntil.getTime()) + VISIT_WATCH_SLACK_MS
        : t;
  const turns = meanwhile.length ? periodTurns(now, upTo(meanwhileEnd), periodAt) : [];
  const raised = [
    ...overdueTimes.map((at) => ({ at, type: 'overdue_visit' })),
    ...turns.flatMap((at) => meanwhile.map((type) => ({ at, type }))),
  ];
  const reaches = (target: string) => reachesAPerson(school, target, facts);
  return {
    // Judged by the period as the office's presence is (`periodFor`), not the one the ladder was
    // chosen in: a weekday at a school that gives only weekend ladders is `school-hours` to its ladders
    // at 03:00 too, yet its office is not known to be at its screen then.
    watchOnlyOnBoard: raised.some(({ at, type }) =>
      watchOnlyOnBoard(periodFor(school, at), [ladderFor(school, type, at)], reaches),
    ),
    office: officeLine(school, periodFor(school, now)),
  };
}

/**
 * The people a visit's alarms are about, as `alarmSubjects` finds them for an alarm raised on it: the
 * lead's and the partner's accounts (disabled or not), their phones and e-mail addresses, and the
 * number the visit left with (the accounts carrying the alarm's staff id are the lead's: one account
 * per staff id). No alarm message goes to them (`notAboutThem`).
 */
export async function visitSubjects(
  db: Queryable,
  v: Pick<VisitRow, 'leadUserId' | 'partnerUserId' | 'workerPhone'>,
): Promise<VisitSubjects> {
  const users = [];
  // One after the other: `db` may be a transaction's client.
  for (const id of new Set([v.leadUserId, v.partnerUserId])) {
    const u = id === null ? undefined : await userById(db, id);
    if (u) users.push(u);
  }
  return {
    userIds: users.map((u) => u.id),
    phones: [...users.flatMap((u) => (u.phone ? [u.phone] : [])), ...(v.workerPhone ? [v.workerPhone] : [])],
    emails: users.flatMap((u) => (u.email ? [u.email] : [])),
  };
}

/**
 * What the store says of whom a visit's alarms reach (`watchNow`'s and "I am still out"'s facts): the
 * browsers that turned alarms on, counted without those of the people on it, and those people
 * (`visitSubjects`), whom no text, call, e-mail or push of its alarms goes to.
 */
export async function visitReachFacts(
  db: Queryable,
  school: SchoolConfig,
  v: Pick<VisitRow, 'leadUserId' | 'partnerUserId' | 'workerPhone'>,
): Promise<ReachFacts> {
  const about = await visitSubjects(db, v);
  return { pushOptedIn: await pushOptedIn(db, school, about.userIds), about };
}
