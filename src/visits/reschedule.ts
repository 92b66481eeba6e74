import { isIsoDate, londonClock, londonDate } from '../domain/attendance/dates.ts';
import { londonInstant } from '../domain/visits/appointment.ts';
import { plannedDayProblem } from '../domain/visits/planned-day.ts';
import { doorstepError } from '../errors.ts';
import { moveVisitDate } from '../store/appointments.ts';
import { insertBoardEvent } from '../store/board.ts';
import { insertNotices, withdrawPendingNotices } from '../store/notices.ts';
import type { User } from '../store/users.ts';
import { formatAddress, type VisitRow } from '../store/visits.ts';
import { knownSchool } from './access.ts';
import { writeAppointmentRecord } from './appointment.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';
import { confirmClosedDay } from './closed-day.ts';
import { visitPlannedNotice } from './planned-notice.ts';
import { awaitingAuthorisationAgain, sendBack } from './send-back.ts';
import { pupilInitials, sendNotices } from './visit-notices.ts';

/**
 * Moves a visit not yet made to another day (the lifecycle's `change-date`): today or later, within
 * a year. A visit leaves only on its planned day, and what it holds was given for that day, so the
 * authorisation (a day's list is signed for its day), the risk assessment, any out-of-hours or
 * commute approval, how the family was told and a parent's warning that they would be late (Thames
 * View 3.5) are withdrawn (an exemption from telling them stays: it rests on the pupil, not the
 * day), and a text to the family for the old day not yet sent is never sent — it waits for them again; the people named for visits awaiting authorisation hear of it
 * again, those named for changes hear of the move (Thames View 3.6) and those named for planned visits
 * of its new day (Hampton). An appointment keeps its time
 * on the new day, and a recorded appointment gets its `changed` record (2.7). Moving to the day it
 * already has changes nothing.
 */
export async function changeVisitDate(
  deps: VisitDeps,
  user: User,
  visitId: string,
  date: string,
  /** As a request's (`VisitRequest.closedDayConfirmed`): false refuses a day the school is closed until confirmed. */
  closedDayConfirmed?: boolean,
): Promise<{ moved: boolean }> {
  if (!isIsoDate(date)) throw doorstepError('BAD_REQUEST', 'date: expected a date as YYYY-MM-DD');
  const dayProblem = plannedDayProblem(date, londonDate(deps.now()));
  if (dayProblem) throw doorstepError('BAD_REQUEST', `date: ${dayProblem}`);
  let moved = false;
  const notices = await change(
    deps,
    async (tx, events) => {
      const v = await mustLock(tx, visitId);
      const effect = must(deps, user, v, 'change-date');
      if (v.plannedFor === date) return [];
      if (closedDayConfirmed !== undefined)
        confirmClosedDay(knownSchool(deps.config, v.schoolId), date, 'date', closedDayConfirmed);
      const appointmentAt = v.appointmentAt ? londonInstant(date, londonClock(v.appointmentAt)) : null;
      if (v.appointmentAt && !appointmentAt)
        throw doorstepError(
          'BAD_REQUEST',
          `date: the appointment's time (${londonClock(v.appointmentAt)}) does not happen on ${date} in London (the clocks go forward): change the time first`,
        );
      await moveVisitDate(tx, visitId, { plannedFor: date, appointmentAt });
      // A text to the family announcing the old day, not yet sent (a retry, the relay): never sent.
      await withdrawPendingNotices(tx, visitId, 'family', `the visit moved from ${v.plannedFor} to ${date}`);
      const told = v.familyNotice?.method ? v.familyNotice : null;
      const back = await sendBack(
        tx,
        user,
        v,
        effect,
        `moved from ${v.plannedFor} to ${date}: authorise and assess the visit on its new day`,
      );
      const withdrawn = back.sentBack;
      moved = true;
      const after: VisitRow = {
        ...back.visit,
        plannedFor: date,
        appointmentAt,
        familyNotice: told ? null : v.familyNotice,
        parentLateNoticeAt: null,
        parentLateNoticeBy: null,
      };
      const outboxId = appointmentAt
        ? await writeAppointmentRecord(tx, deps, after, 'changed', {
            previous: { at: v.appointmentAt, address: formatAddress(v.address) },
          })
        : null;
      await audit(
        tx,
        user,
        'visit.date-changed',
        v,
        { plannedFor: v.plannedFor, status: v.status, familyTold: told !== null },
        {
          plannedFor: date,
          status: after.status,
          sentBack: withdrawn,
          outboxId,
          ...(v.parentLateNoticeAt ? { parentLateNoticeWithdrawn: true } : {}),
        },
      );
      events.push(await insertBoardEvent(tx, v.schoolId, 'visit.date-changed', { visitId }));
      const school = knownSchool(deps.config, v.schoolId);
      const initials = await pupilInitials(tx, v.schoolId, v.pupilMisId);
      const rules = deps.rulesFor(v.schoolId);
      const about = `Home visit #${visitId}${initials ? ` (pupil ${initials})` : ''}`;
      // Its authorisers hear of it again whenever it waits for them: the first notice named the old day.
      const again = await awaitingAuthorisationAgain(tx, deps, after, {
        key: `date-changed:${date}:${deps.now().toISOString()}`,
        text: `${about} was moved from ${v.plannedFor} to ${date} by ${user.displayName}, so it waits for authorisation${rules.authorisation.mode === 'daily-list' ? ` (on ${date}'s list)` : ''} again. Open the visit in Doorstep.`,
      });
      const changed = await insertNotices(tx, {
        schoolId: school.id,
        kind: 'changed',
        visitId,
        key: `date:${date}:${deps.now().toISOString()}`,
        targets: school.notices.changed,
        subject: `home visit #${visitId} moved to ${date}`,
        text: `${about} was moved from ${v.plannedFor} to ${date} by ${user.displayName}.${told ? ' The family was told of the old day: tell them again.' : ''}`,
      });
      // Those named for planned visits hear of its new day (Hampton: "informed about the home visit
      // date and time").
      const planned = await visitPlannedNotice(tx, deps, user, after, {
        step: 'date-changed',
        from: v.plannedFor,
      });
      return [...again, ...changed, ...planned];
    },
    { relayOutbox: true },
  );
  await sendNotices(deps.producer, notices);
  return { moved };
}
