import { ladderFor, periodFor } from '../alarms/ladder-for.ts';
import { schoolOrFallback } from '../config/school-of.ts';
import { type Effect, onVisit, type VisitClearReason } from '../domain/visits/lifecycle.ts';
import { officeLine } from '../domain/visits/office-line.ts';
import { runningLateProblem } from '../domain/visits/return-time.ts';
import { doorstepError } from '../errors.ts';
import { londonTime } from '../records/templates/london-time.ts';
import { addTimeline, resolve, setHelpPosition } from '../store/alarm-state.ts';
import { helpAlarmKey, raiseVisitAlarm } from '../store/alarm-writer.ts';
import { type BoardEventRow, insertBoardEvent } from '../store/board.ts';
import type { Queryable } from '../store/db.ts';
import { insertNotices } from '../store/notices.ts';
import type { User } from '../store/users.ts';
import {
  addCheckIn,
  changeExpectedReturn,
  markArrived,
  markBackSafe,
  markParentLateNotice,
} from '../store/visit-changes.ts';
import { lastConfirmedByOthers } from '../store/visit-queries.ts';
import { alarmIdByKey, openAlarmIdsOfVisit } from '../store/visit-watch.ts';
import { getVisit, otherVisitOut, type VisitRow } from '../store/visits.ts';
import { assertMayActOn } from './access.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';
import { tellBackSafeByOther } from './resume-watch.ts';
import { startLadder } from './start-ladder.ts';
import { pupilInitials, sendNotices, whoIsOut } from './visit-notices.ts';
import { visitRecordCopy } from './visit-record-copy.ts';

/** While the worker is out: arrived, check-ins, running late, "I need help", the safe word, back safe. */

/**
 * Resolves the visit's open alarms of these kinds as the worker safe (never an incident record), `as`
 * saying how: checked in or arrived (still out), running late, or back safe — all but those in
 * `leave` (alarm ids whose deadline is still owed: a fob check-in made before the arrival call was due
 * leaves that call's alarm standing).
 */
export async function clearVisitAlarms(
  tx: Queryable,
  v: Pick<VisitRow, 'id' | 'schoolId'>,
  types: readonly string[],
  by: string,
  why: string,
  now: Date,
  events: BoardEventRow[],
  as: VisitClearReason,
  leave: readonly string[] = [],
): Promise<void> {
  for (const alarmId of await openAlarmIdsOfVisit(tx, v.id, types)) {
    if (leave.includes(alarmId)) continue;
    if ((await resolve(tx, alarmId, by, as, why, now)) === 'resolved') {
      await addTimeline(tx, alarmId, why, by);
      events.push(await insertBoardEvent(tx, v.schoolId, 'alarm.resolved', { alarmId }));
    }
  }
}

/** Stands down the visit alarms an action clears, as the lifecycle says (never as an incident). */
function applyClears(
  tx: Queryable,
  v: VisitRow,
  effect: Effect,
  by: string,
  why: string,
  now: Date,
  events: BoardEventRow[],
) {
  if (!effect.clears.length || !effect.clearedAs) return Promise.resolve();
  return clearVisitAlarms(tx, v, effect.clears, by, why, now, events, effect.clearedAs);
}

/** Whether `user` is one of the people out on the visit (the lead or the partner) — never by a role. */

/**
 * What the timeline says of a check-in or an arrival: the worker's own ("the worker checked in"), or
 * recorded by someone else, who spoke to them ("check-in recorded by Olive Office (spoke to the
 * worker)") — never the worker's word when it was the office's.
 */
function saidBy(user: User, v: VisitRow, own: string, recorded: string): string {
  return onVisit(user, v) ? own : `${recorded} recorded by ${user.displayName} (spoke to the worker)`;
}

/**
 * A check-in: from the phone of a person on the visit (`check-in`), or recorded for them by someone
 * else — the office, after speaking to them (`record-check-in`): which one is by who they are on this
 * visit, never by a role (an office account that also visits checks in as the worker). Clears a
 * missed check-in: as the worker checked in, still out; or as the office spoke to them.
 */
export async function checkInVisit(deps: VisitDeps, user: User, visitId: string): Promise<void> {
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    const own = onVisit(user, v);
    const effect = must(deps, user, v, own ? 'check-in' : 'record-check-in');
    const source = own ? 'phone' : 'office';
    const now = deps.now();
    await addCheckIn(tx, visitId, now, source, user.id);
    await audit(tx, user, 'visit.checked-in', v, null, { source });
    const said = saidBy(user, v, 'the worker checked in', 'check-in');
    await applyClears(tx, v, effect, `user:${user.id}`, said, now, events);
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.checked-in', { visitId }));
  });
}

/**
 * Back safe (the worker, or the office after speaking to them): the only way monitoring ends. The
 * visit's overdue and missed check-in alarms stand down as the worker safe; the visit is returned,
 * or completed when its outcome was already recorded (a visit cancelled while out stays cancelled).
 * Said by someone other than the lead, the people on the visit are texted so (where the school has
 * SMS): one still at the door can say "I am still out" (resume-watch.ts). Never refused for a school
 * the config no longer holds: the visit is closed, without that school's own records copy — the
 * people on it texted so through the `orphansTo` school's channel, with its number to call.
 */
export async function returnVisit(deps: VisitDeps, user: User, visitId: string): Promise<void> {
  const notices = await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    const effect = must(deps, user, v, 'back-safe');
    const now = deps.now();
    const status = effect.status ?? v.status;
    await markBackSafe(tx, visitId, status, now, `user:${user.id}`);
    await audit(tx, user, 'visit.returned', v, { status: v.status }, { status, backSafe: true });
    await applyClears(tx, v, effect, `user:${user.id}`, 'the worker is back safe', now, events);
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.returned', { visitId }));
    // A school the config no longer holds: the people on the visit are still texted (through the
    // `orphansTo` school's channel, with its number to call), only its own records copy is not sent.
    const { school, orphan } = schoolOrFallback(deps.config, v.schoolId);
    const told = await tellBackSafeByOther(tx, school, deps.config.http.publicUrl, user, v, now);
    if (orphan) return told;
    return [
      ...told,
      // Hampton: the visit record's "confirmation of return" to the office and the HoS.
      ...(await visitRecordCopy(tx, school, user, v, 'returned', now)),
    ];
  });
  await sendNotices(deps.producer, notices);
}

/**
 * The worker has arrived at the address (the arrival check-in some policies ask for): said from their
 * phone (`arrive`), or recorded for them by the office after speaking to them (`record-arrival`). The
 * people the school names for arrivals hear of it (`notices.arrived` — Thames View 2.4 "call the
 * school office to notify SLT they have arrived safely"), once per visit.
 */
export async function arriveVisit(deps: VisitDeps, user: User, visitId: string): Promise<void> {
  const notices = await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    const effect = must(deps, user, v, onVisit(user, v) ? 'arrive' : 'record-arrival');
    const now = deps.now();
    await markArrived(tx, visitId, now);
    await audit(tx, user, 'visit.arrived', v, null, { arrivedAt: now.toISOString() });
    const said = saidBy(user, v, 'the worker has arrived', 'arrival');
    await applyClears(tx, v, effect, `user:${user.id}`, said, now, events);
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.arrived', { visitId }));
    // A school the config no longer holds has no one named for arrivals: the arrival stands, unsaid.
    const { school, orphan } = schoolOrFallback(deps.config, v.schoolId);
    if (orphan || school.notices.arrived.length === 0) return [];
    const initials = await pupilInitials(tx, v.schoolId, v.pupilMisId);
    return insertNotices(tx, {
      schoolId: school.id,
      kind: 'arrived',
      visitId,
      key: 'arrived',
      targets: school.notices.arrived,
      subject: `arrived: home visit #${visitId}`,
      text: `${(await whoIsOut(tx, v, user)).who} arrived safely at home visit #${visitId}${initials ? ` (pupil ${initials})` : ''} at ${londonTime(now)}.`,
    });
  });
  await sendNotices(deps.producer, notices);
}

/**
 * Thames View 3.5 "If the parents/carers have given prior notice that they are running late, the
 * officer must not enter the house until they arrive": the people on the visit (the parent phoned
 * them) or the office (who took the call) record that notice — before the visit leaves, on its
 * planned day, or while the worker is out, before 3.4's wait is over. From then the worker waits up
 * to the pack's lateness limit: "no answer" is not offered, and the visit is cancelled for lateness
 * only past the limit (the lifecycle). Who recorded it and when are kept on the visit (a new day or
 * time for the appointment withdraws it); a worker out is still watched as before.
 */
export async function recordParentRunningLate(deps: VisitDeps, user: User, visitId: string): Promise<void> {
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    assertMayActOn(user, v);
    must(deps, user, v, 'parent-running-late');
    const now = deps.now();
    await markParentLateNotice(tx, visitId, now, `user:${user.id}`);
    await audit(tx, user, 'visit.parent-running-late', v, null, { at: now.toISOString() });
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.parent-running-late', { visitId }));
  });
}

/**
 * Running late (Hampton: "contact the Office to advise of their expected return time"): a new
 * expected return with a reason, from the worker or the office. The overdue timer re-arms for the
 * new time, and an open overdue alarm stands down as "worker safe, running late" — not an incident.
 * The worker's own new time goes no further than 4 hours after someone else last confirmed them
 * (runningLateProblem); past that, the office sets it after speaking to them.
 */
export async function runningLate(
  deps: VisitDeps,
  user: User,
  visitId: string,
  newReturnAt: Date,
  reason: string,
): Promise<void> {
  if (!reason.trim()) throw doorstepError('BAD_REQUEST', 'reason: expected why the worker is late');
  const notices = await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    const effect = must(deps, user, v, 'running-late');
    const now = deps.now();
    // In the future and at most `MAX_RETURN_AHEAD_MINUTES` on: the new time is the overdue deadline,
    // and setting it stands the open overdue alarm down — a time a day (or a year) ahead would leave
    // the worker unwatched until then. Set by the worker themselves, also at most that long after
    // someone else last confirmed them: past it, they call the office, who sets it.
    // A school the config no longer holds: the `orphansTo` school's office line, and no notice.
    const { school, orphan } = schoolOrFallback(deps.config, v.schoolId);
    const bySelf = onVisit(user, v)
      ? {
          confirmedAt: (await lastConfirmedByOthers(tx, visitId)) ?? v.departedAt ?? now,
          office: officeLine(school, periodFor(school, now))?.phone ?? null,
        }
      : null;
    const problem = runningLateProblem(newReturnAt, now, bySelf);
    if (problem) throw doorstepError('BAD_REQUEST', `expectedReturnAt: ${problem}`);
    await changeExpectedReturn(tx, visitId, {
      at: now,
      byUserId: user.id,
      previousAt: v.expectedReturnAt,
      newAt: newReturnAt,
      reason: reason.trim(),
    });
    await audit(
      tx,
      user,
      'visit.running-late',
      v,
      { expectedReturnAt: v.expectedReturnAt?.toISOString() ?? null },
      { expectedReturnAt: newReturnAt.toISOString(), reason: reason.trim() },
    );
    await applyClears(
      tx,
      v,
      effect,
      `user:${user.id}`,
      `running late, back by ${newReturnAt.toISOString()}: ${reason.trim()}`,
      now,
      events,
    );
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.running-late', { visitId }));
    if (orphan) return [];
    // Thames View 3.6: any change to a visit is notified (to the people the school names).
    const initials = await pupilInitials(tx, v.schoolId, v.pupilMisId);
    const out = await whoIsOut(tx, v, user);
    return insertNotices(tx, {
      schoolId: school.id,
      kind: 'changed',
      visitId,
      targets: school.notices.changed,
      key: newReturnAt.toISOString(),
      subject: `home visit #${visitId} running late`,
      text: `Home visit #${visitId}${initials ? ` (pupil ${initials})` : ''}: ${out.who} ${out.are} running late, now expected back by ${londonTime(newReturnAt)} (was ${v.expectedReturnAt ? londonTime(v.expectedReturnAt) : 'not set'}): ${reason.trim()}`,
    });
  });
  await sendNotices(deps.producer, notices);
}

/**
 * "I need help" from the phone page: an SOS alarm for the visit, raised as a fob SOS would be (the
 * school's `sos` ladder, the board at once, escalation), with the browser's position when the worker
 * allowed it. Each press is its own alarm. A visit of a school the config no longer holds is never
 * refused: its alarm is raised on the `orphansTo` school's ladder, its timeline saying so.
 */
export async function askForHelp(
  deps: VisitDeps,
  user: User,
  visitId: string,
  location: { lat: number; lon: number; accuracyM: number | null } | null,
  /**
   * The page's own id for this press, the same on every retry of it: a press whose answer was lost
   * (a weak signal at the door) and is sent again finds its alarm, never raises a second one.
   */
  pressId?: string,
): Promise<string> {
  const onNow = await helpVisitOf(deps, user, visitId);
  if (onNow !== visitId) return askForHelp(deps, user, onNow, location, pressId);
  const now = deps.now();
  const dedupKey = helpAlarmKey(visitId, user.id, pressId ?? now.toISOString());
  const alarmId = await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    const again = pressId ? await alarmIdByKey(tx, dedupKey) : null;
    if (again) return again;
    must(deps, user, v, 'help');
    const { school, orphan } = schoolOrFallback(deps.config, v.schoolId);
    const alarm = await raiseVisitAlarm(tx, {
      schoolId: v.schoolId,
      visitId,
      staffId: user.staffId,
      type: 'sos',
      dedupKey,
      raisedAt: now,
      policy: ladderFor(school, 'sos', now),
      what: `alarm raised: sos — ${user.displayName} pressed "I need help" on the phone page${orphan ? ` (${orphan}: ${school.name}'s ladder)` : ''}`,
      actor: `user:${user.id}`,
      location,
    });
    if (!alarm) throw doorstepError('CONFLICT', 'help was already asked for at this instant');
    events.push(alarm.board);
    return alarm.id;
  });
  // The alarm is stored and on the board: that is what the worker is told (never sent again).
  await startLadder(deps, alarmId);
  return alarmId;
}

/**
 * The visit a press of "I need help" on `visitId`'s page belongs to: that visit — unless it was said
 * back safe and its worker is out on another now (the page left open in the hour help stays on it),
 * when it is the visit they are out on: its address, its partner, its ladder; never refused, and never
 * raised against the family of the one before.
 */
async function helpVisitOf(deps: VisitDeps, user: User, visitId: string): Promise<string> {
  const v = await getVisit(deps.db, visitId);
  if (!v?.returnedAt) return visitId;
  return (await otherVisitOut(deps.db, user.id, visitId)) ?? visitId;
}

/**
 * The phone's position, sent after its "I need help" (which never waits for it: a phone's location
 * prompt can take as long as the worker leaves it): set on that alarm, its timeline and the board told.
 */
export async function helpPosition(
  deps: VisitDeps,
  user: User,
  visitId: string,
  alarmId: string,
  location: { lat: number; lon: number; accuracyM: number | null },
): Promise<void> {
  // The help this page asked for was raised on the visit its worker is out on now (`askForHelp`).
  const onNow = await helpVisitOf(deps, user, visitId);
  if (onNow !== visitId) return helpPosition(deps, user, onNow, alarmId, location);
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    must(deps, user, v, 'help');
    if (!(await setHelpPosition(tx, alarmId, visitId, user.id, location)))
      throw doorstepError('CONFLICT', 'that alarm is not one of this visit waiting for its position');
    await addTimeline(tx, alarmId, "the phone's position added", `user:${user.id}`);
    events.push(await insertBoardEvent(tx, v.schoolId, 'alarm.located', { alarmId }));
  });
}

/** The safe word of a visit out, for the office to recognise on the phone: audited, never listed or logged. */
export async function revealSafeWord(deps: VisitDeps, user: User, visitId: string): Promise<string> {
  return change(deps, async (tx) => {
    const v = await mustLock(tx, visitId);
    must(deps, user, v, 'reveal-safe-word');
    await audit(tx, user, 'visit.safe-word-revealed', v, null, { revealed: true });
    return v.safeWord!;
  });
}
