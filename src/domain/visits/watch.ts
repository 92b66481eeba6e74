import type { VisitRules } from './rules.ts';

export interface WatchedVisit {
  id: string;
  status: string;
  departedAt: Date | null;
  expectedReturnAt: Date | null;
  lastCheckInAt: Date | null;
  checkInMinutes: number | null;
}

export interface DueVisitAlarm {
  type: 'overdue_visit' | 'missed_check_in';
  /** Unique per occurrence: raising it again changes nothing. */
  dedupKey: string;
  /** When it became due (the alarm's raised-at). */
  dueAt: Date;
}

/**
 * The alarms a visit out of school owes at `now`: overdue once the expected return (plus the
 * policy's grace) has passed; a missed check-in when the interval since the last check-in (or the
 * departure) has run out plus its grace. Keys name the occurrence, so a watcher that runs twice,
 * or two watchers, raise each alarm once. Pure.
 */
export function dueVisitAlarms(v: WatchedVisit, rules: VisitRules, now: Date): DueVisitAlarm[] {
  if (v.status !== 'departed' || !v.departedAt) return [];
  const out: DueVisitAlarm[] = [];
  if (v.expectedReturnAt) {
    const due = new Date(v.expectedReturnAt.getTime() + rules.overdueGraceMinutes * 60_000);
    if (now >= due) out.push({ type: 'overdue_visit', dedupKey: `visit:${v.id}:overdue`, dueAt: due });
  }
  const every = v.checkInMinutes ?? rules.checkInMinutes;
  if (every) {
    const last = v.lastCheckInAt && v.lastCheckInAt > v.departedAt ? v.lastCheckInAt : v.departedAt;
    const expected = new Date(last.getTime() + every * 60_000);
    const due = new Date(expected.getTime() + rules.checkInGraceMinutes * 60_000);
    if (now >= due)
      out.push({
        type: 'missed_check_in',
        dedupKey: `visit:${v.id}:missed-check-in:${expected.toISOString()}`,
        dueAt: due,
      });
  }
  return out;
}

/** When the watcher next needs to look at this visit (null: nothing more is owed). */
export function nextVisitCheck(v: WatchedVisit, rules: VisitRules, now: Date): Date | null {
  if (v.status !== 'departed' || !v.departedAt) return null;
  const times: number[] = [];
  if (v.expectedReturnAt) times.push(v.expectedReturnAt.getTime() + rules.overdueGraceMinutes * 60_000);
  const every = v.checkInMinutes ?? rules.checkInMinutes;
  if (every) {
    const last = v.lastCheckInAt && v.lastCheckInAt > v.departedAt ? v.lastCheckInAt : v.departedAt;
    times.push(last.getTime() + (every + rules.checkInGraceMinutes) * 60_000);
  }
  const future = times.filter((t) => t > now.getTime());
  return future.length ? new Date(Math.min(...future)) : null;
}
