import { randomUUID } from 'node:crypto';
import { ladderFor, periodFor } from '../alarms/ladder-for.ts';
import { reachesAPerson } from '../checks/reachability.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { schoolOrFallback } from '../config/school-of.ts';
import { londonClock } from '../domain/attendance/dates.ts';
import { onVisit } from '../domain/visits/lifecycle.ts';
import { firstLevelReachesNoPerson, officeLine } from '../domain/visits/office-line.ts';
import { ownReturnTimeClosed, runningLateProblem } from '../domain/visits/return-time.ts';
import { overdueAlarmKey, overdueOwnAlarmKey } from '../domain/visits/watch.ts';
import { doorstepError } from '../errors.ts';
import { renderStillOutCorrection } from '../records/templates/visit-still-out.ts';
import { raiseVisitAlarm } from '../store/alarm-writer.ts';
import { insertBoardEvent } from '../store/board.ts';
import type { Queryable } from '../store/db.ts';
import { insertNotices } from '../store/notices.ts';
import { type User, userById } from '../store/users.ts';
import { changeExpectedReturn, markWatchResumed } from '../store/visit-changes.ts';
import { lastConfirmedByOthers } from '../store/visit-queries.ts';
import type { VisitRow } from '../store/visits.ts';
import { audit, change, must, mustLock, registerLog, type VisitDeps } from './change.ts';
import { recordVisitOutcome } from './outcome.ts';
import { startLadder } from './start-ladder.ts';
import { pupilInitials, sendNotices, whoIsOut } from './visit-notices.ts';
import { visitReachFacts } from './watch-reach.ts';

/**
 * Back safe said by mistake, and undone: "I am still out" from the worker's phone, or "Still out —
 * watch again" from the office (`resume-watch`, within RESUME_WATCH_MINUTES of the back safe). And
 * the worker told, when someone else said them back safe, that they can.
 */

/**
 * How many return times (a millisecond apart, back from now) "I am still out" tries for a free overdue
 * key before it raises the alarm under a key of its own.
 */
export const OVERDUE_KEY_TRIES = 100;

export interface Resumed {
  /** The new expected return: the overdue deadline. */
  expectedReturnAt: Date;
  /**
   * The worker's own return time was closed (4 hours since someone other than them last confirmed
   * them): watched again with the return as now (the moment they said so), and the overdue alarm
   * raised at once, its ladder started — the office sets the new time after speaking to them; never
   * left unwatched for want of a time.
   */
  overdueNow: boolean;
  /**
   * Overdue now: the ladder of the alarm raised tells only the board at first (out of hours, say), or
   * its first level's targets reach no person (`reachesAPerson`: an SMS group where no SMS channel is
   * configured, a group with no phone number, a group whose only phone is the worker's own): the phone says it is on the office's screen with no one messaged, and whom to phone — never
   * "they phone you".
   */
  onlyOnBoard: boolean;
}

/**
 * The worker is still out after all: the watch starts again. Clears the back safe, sets the new
 * return time `newReturnAt` — bounded exactly as running late's (4 hours from now; set by the people
 * on the visit, also no later than 4 hours after someone else last confirmed them) — and restarts
 * the check-in clock from now; the outcome, if one was recorded, is kept. Audited, on the board, and
 * told to the people the school names for changes (`notices.changed`). Said by the worker themselves
 * past their own bound, it is never refused for that: the return is now, and the overdue alarm is
 * raised in the same transaction (the one writer, under the key the visit watcher would use, so it
 * never raises a second; when none it tries is free, under a key of its own, logged as an error) with
 * its ladder started as "I need help"'s is — when in doubt on the alarm path, raise. Never refused for
 * a school the config no longer holds: watched by the `orphansTo` school's rules and ladder, without
 * the missing school's notices or records correction.
 */
export async function resumeWatch(
  deps: VisitDeps,
  user: User,
  visitId: string,
  newReturnAt: Date | null,
): Promise<Resumed> {
  const { resumed, alarmId, ownKey, notices } = await change(
    deps,
    async (tx, events) => {
      const v = await mustLock(tx, visitId);
      const effect = must(deps, user, v, 'resume-watch');
      const now = deps.now();
      // A school the config no longer holds (removed, or its id renamed, while they were out) is never
      // a refusal: watched again by the `orphansTo` school's rules and ladder, without the missing
      // school's own notices or records (as back safe closes such a visit: `returnVisit`).
      const { school, orphan } = schoolOrFallback(deps.config, v.schoolId);
      const self = onVisit(user, v);
      const confirmedAt = self ? ((await lastConfirmedByOthers(tx, visitId)) ?? v.departedAt ?? now) : null;
      const overdueNow = confirmedAt !== null && ownReturnTimeClosed(confirmedAt, now);
      // Overdue now: the return is now, the moment they said so, and its overdue alarm is raised below.
      let at = now;
      if (!overdueNow) {
        if (!newReturnAt)
          throw doorstepError('BAD_REQUEST', 'expectedReturnAt: expected the time they expect to be back');
        const office = officeLine(school, periodFor(school, now))?.phone ?? null;
        const problem = runningLateProblem(newReturnAt, now, confirmedAt ? { confirmedAt, office } : null);
        if (problem) throw doorstepError('BAD_REQUEST', `expectedReturnAt: ${problem}`);
        at = newReturnAt;
      }
      let alarmId: string | null = null;
      let ownKey = false;
      const policy = ladderFor(school, 'overdue_visit', now);
      if (overdueNow) {
        const lead =
          v.leadUserId === user.id ? user : v.leadUserId ? await userById(tx, v.leadUserId) : undefined;
        const raise = (dedupKey: string, what: string) =>
          raiseVisitAlarm(tx, {
            schoolId: v.schoolId,
            visitId,
            staffId: lead?.staffId ?? null,
            type: 'overdue_visit',
            dedupKey,
            raisedAt: at,
            policy,
            what: `alarm raised: visit overdue — ${user.displayName} said "I am still out" past their own return time${what}${orphan ? ` (${orphan}: ${school.name}'s ladder)` : ''}`,
            actor: `user:${user.id}`,
          });
        // Its key is the return time, the key the visit watcher raises under, so it never raises a
        // second. A return time whose overdue alarm was raised before (the old return itself, raised
        // and stood down by the back safe; an earlier "still out" the same instant) is raised once
        // only: the return is then put a millisecond earlier, until a key is free.
        for (let tries = 0; alarmId === null && tries < OVERDUE_KEY_TRIES; tries++) {
          if (tries > 0) at = new Date(at.getTime() - 1);
          const alarm = await raise(overdueAlarmKey(visitId, at), '');
          if (alarm) {
            alarmId = alarm.id;
            events.push(alarm.board);
          }
        }
        // None free: never no alarm. The return is now, and its alarm is raised under a key of its own
        // (the watcher raises none for now: its key was taken) — said on the alarm, on the board, and
        // in the log.
        if (alarmId === null) {
          at = now;
          const alarm = await raise(
            overdueOwnAlarmKey(visitId, at, randomUUID()),
            ` (raised under a key of its own: the overdue alarms of the ${OVERDUE_KEY_TRIES} return times tried were all raised before)`,
          );
          if (!alarm)
            throw doorstepError(
              'INTERNAL',
              `src/visits/resume-watch.ts: the overdue alarm of visit ${visitId} could not be raised under a key of its own; expected a new alarm`,
            );
          alarmId = alarm.id;
          ownKey = true;
          events.push(alarm.board);
        }
      }
      const backAt = v.returnedAt!;
      const status = effect.status ?? v.status;
      await markWatchResumed(tx, visitId, status, now);
      const reason = `still out: back safe recorded at ${londonClock(backAt)} was a mistake`;
      await changeExpectedReturn(tx, visitId, {
        at: now,
        byUserId: user.id,
        previousAt: v.expectedReturnAt,
        newAt: at,
        reason,
      });
      await audit(
        tx,
        user,
        'visit.watch-resumed',
        v,
        { status: v.status, returnedAt: backAt.toISOString(), backSafeBy: v.backSafeBy },
        { status, expectedReturnAt: at.toISOString(), overdueNow },
      );
      events.push(await insertBoardEvent(tx, v.schoolId, 'visit.resumed', { visitId }));
      // An outcome recorded after that back safe went to the records saying "back: <then>": put right.
      const outcomeAt = v.outcome?.recordedAt;
      if (!orphan && v.outcome && !(typeof outcomeAt === 'string' && new Date(outcomeAt) < backAt)) {
        const record = renderStillOutCorrection({
          visitId,
          pupilMisId: v.pupilMisId,
          backAt,
          at: now,
          by: user.displayName,
        });
        await recordVisitOutcome(tx, school, v, record, now, 'still-out');
      }
      // Thames View 3.6: any change to a visit is notified (to the people the school names).
      const initials = await pupilInitials(tx, v.schoolId, v.pupilMisId);
      const out = await whoIsOut(tx, v, user);
      const notices = orphan
        ? []
        : await insertNotices(tx, {
            schoolId: school.id,
            kind: 'changed',
            visitId,
            targets: school.notices.changed,
            key: `resumed:${now.toISOString()}`,
            subject: `home visit #${visitId} still out`,
            text: `Home visit #${visitId}${initials ? ` (pupil ${initials})` : ''}: ${out.who} ${out.are} still out — back safe recorded at ${londonClock(backAt)} was a mistake. Watched again, ${overdueNow ? 'overdue now: phone them and set their return time' : `expected back by ${londonClock(at)}`}.`,
          });
      // A first level whose texts reach no one (no SMS channel, a group with no phone) is the board alone.
      // Nor do the people on the visit, whom no alarm message goes to.
      const facts = overdueNow ? await visitReachFacts(tx, school, v) : {};
      const onlyOnBoard =
        overdueNow && firstLevelReachesNoPerson(policy, (t) => reachesAPerson(school, t, facts));
      return {
        resumed: { expectedReturnAt: at, overdueNow, onlyOnBoard },
        alarmId,
        ownKey: ownKey ? { schoolId: v.schoolId } : null,
        notices,
      };
    },
    { relayOutbox: true },
  );
  if (ownKey)
    registerLog(deps).error(
      { school: ownKey.schoolId, visit: visitId, alarm: alarmId, tries: OVERDUE_KEY_TRIES },
      '"I am still out" past the worker’s own return time found the overdue alarm of every return time it tried raised before: the alarm was raised under a key of its own (src/visits/resume-watch.ts); expected a free key within the tries — find why so many overdue alarms were raised for this visit',
    );
  if (alarmId) await startLadder(deps, alarmId);
  await sendNotices(deps.producer, notices);
  return resumed;
}

/**
 * Back safe recorded by someone other than the lead (the office, or the partner's "both back safe"):
 * the people on the visit are texted, where the school has an SMS channel — a worker still at the
 * door hears of it at once, and how to be watched again. (Their phone page says it too, with the
 * button, whatever the channels.) The number they are given is the one that answers at `at`: the
 * office in school hours, else the on-call number. The caller sends the notices after the commit.
 */
export async function tellBackSafeByOther(
  tx: Queryable,
  school: SchoolConfig,
  publicUrl: string | undefined,
  user: User,
  v: VisitRow,
  at: Date,
): Promise<string[]> {
  if (user.id === v.leadUserId || !school.channels.sms) return [];
  const page = publicUrl ? ` ${new URL(`/visits/${v.id}`, publicUrl).href}` : '';
  // The number that answers now, as their phone page's call button: out of hours the on-call number.
  const line = officeLine(school, periodFor(school, at));
  const call = line
    ? `${line.label.charAt(0).toLowerCase()}${line.label.slice(1)}: ${line.phone}`
    : 'phone the school';
  return insertNotices(tx, {
    schoolId: school.id,
    kind: 'back-safe-by-other',
    visitId: v.id,
    targets: ['sms:visiting-staff'],
    key: at.toISOString(),
    subject: `home visit #${v.id}: recorded back safe`,
    text: `Home visit #${v.id}: recorded back safe by ${user.displayName} at ${londonClock(at)}. Still out? Open the visit and press "I am still out", or ${call}.${page}`,
  });
}
