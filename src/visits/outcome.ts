import { londonClock } from '../domain/attendance/dates.ts';
import { doorWaitMinutes } from '../domain/visits/appointment.ts';
import { initialsOf } from '../domain/visits/initials.ts';
import { isOut } from '../domain/visits/lifecycle.ts';
import { doorstepError } from '../errors.ts';
import { recordToSinks } from '../records/record-outbox.ts';
import { renderVisitOutcome } from '../records/templates/visit-outcome.ts';
import { insertBoardEvent } from '../store/board.ts';
import type { Queryable } from '../store/db.ts';
import { insertFollowUps } from '../store/follow-ups.ts';
import { insertNotices, withdrawPendingNotices } from '../store/notices.ts';
import { pupilIdentity } from '../store/pupils.ts';
import { type User, userById } from '../store/users.ts';
import { markCancelled, markFollowUpDone, saveOutcome } from '../store/visit-changes.ts';
import { visitStaffNames } from '../store/visit-queries.ts';
import { formatAddress, type VisitRow } from '../store/visits.ts';
import { assertMayActOn, knownSchool } from './access.ts';
import { writeAppointmentRecord } from './appointment.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';
import { familyCancellationText } from './family-notice.ts';
import { pupilInitials, sendNotices } from './visit-notices.ts';

/** How a visit ends up: its outcome (with the CPOMS record), cancelled, or the follow-up of a child not seen. */

export interface OutcomeInput {
  childSeen: boolean;
  noOneHome: boolean;
  /** No one home: the staff left a "sorry you weren't in" slip (Hampton: "a 'sorry you weren't in' slip should be left"). */
  slipLeft?: boolean | undefined;
  spokeTo?: string | undefined;
  agreements: string[];
  concerns: string[];
  followUp: { action: string; by: string; due?: string | null | undefined }[];
}

/**
 * The outcome form: the visit is completed and, in the same transaction, its CPOMS visit-outcome
 * record goes into the outbox under one idempotency key (submitting twice changes nothing).
 */
export async function recordOutcome(
  deps: VisitDeps,
  user: User,
  visitId: string,
  o: OutcomeInput,
): Promise<void> {
  await writeOutcome(deps, user, visitId, () => o, 'record-outcome', 'visit.completed');
}

/**
 * Thames View 3.4: the parent was not there and the pack's wait at the door is over: the visit is
 * recorded as "no answer" (no one home, the child not seen) rather than left open. The lifecycle
 * allows it only once the wait is over; the worker is still watched until back safe.
 */
export async function recordNoAnswer(
  deps: VisitDeps,
  user: User,
  visitId: string,
  slipLeft = false,
): Promise<void> {
  await writeOutcome(
    deps,
    user,
    visitId,
    (v) => {
      const a = deps.rulesFor(v.schoolId).appointments!;
      // Counted as the lifecycle counts the wait (3.4: from the arranged time when there is one —
      // a worker early waited from then, one who came late has been waiting since it).
      const waited = Math.floor(doorWaitMinutes(v.arrivedAt, v.appointmentAt, deps.now()) ?? 0);
      const since = v.appointmentAt ? ` from the arranged time, ${londonClock(v.appointmentAt)}` : '';
      return {
        childSeen: false,
        noOneHome: true,
        slipLeft,
        agreements: [],
        concerns: [
          `No answer: the parent/carer was not there; waited ${waited} minutes at the door${since} (policy: no longer than ${a.noAnswerAfterMinutes} minutes${a.source ? ` — ${a.source}` : ''})`,
        ],
        followUp: [],
      };
    },
    'no-answer',
    'visit.no-answer',
  );
}

async function writeOutcome(
  deps: VisitDeps,
  user: User,
  visitId: string,
  input: (v: VisitRow) => OutcomeInput,
  action: 'record-outcome' | 'no-answer',
  auditAction: string,
): Promise<void> {
  const notices = await change(
    deps,
    async (tx, events) => {
      const v = await mustLock(tx, visitId);
      const effect = must(deps, user, v, action);
      const o = input(v);
      if (o.noOneHome && o.childSeen)
        throw doorstepError('BAD_REQUEST', 'childSeen: cannot be true when no one was home');
      if (o.slipLeft && !o.noOneHome)
        throw doorstepError(
          'BAD_REQUEST',
          'slipLeft: a "sorry you weren\'t in" slip is left only when no one was home',
        );
      const now = deps.now();
      const school = knownSchool(deps.config, v.schoolId);
      const p = await pupilIdentity(tx, v.schoolId, v.pupilMisId);
      const record = renderVisitOutcome({
        visitId,
        pupils: [
          {
            misId: v.pupilMisId,
            upn: p?.upn ?? null,
            name: p ? [p.forename, p.surname].filter(Boolean).join(' ') : null,
          },
        ],
        visitedBy: await visitStaffNames(tx, v),
        address: formatAddress(v.address),
        departedAt: v.departedAt ?? now,
        // Null while the worker is still out (an outcome typed at the door): never "back" at this moment.
        returnedAt: v.returnedAt,
        recordedAt: now,
        recordedBy: user.displayName,
        childSeen: o.childSeen,
        noOneHome: o.noOneHome,
        slipLeft: o.slipLeft === true,
        spokeTo: o.spokeTo ?? null,
        agreements: o.agreements,
        concerns: o.concerns,
        followUp: o.followUp.map((f) => ({ action: f.action, by: f.by, due: f.due ?? null })),
        reason: v.reason,
      });
      const outcome = { ...o, recordedBy: user.id, recordedAt: now.toISOString() };
      // Recorded while out: the visit stays departed (and watched) until the worker is back safe.
      const status = effect.status ?? v.status;
      await saveOutcome(tx, visitId, outcome, status, now);
      // King's Gomer: follow-up actions are logged and monitored — each a tracked item until done.
      await insertFollowUps(tx, { schoolId: v.schoolId, visitId, pupilMisId: v.pupilMisId }, o.followUp);
      const outboxId = await recordVisitOutcome(tx, school, v, record, now);
      await audit(
        tx,
        user,
        auditAction,
        v,
        { status: v.status },
        { status, childSeen: o.childSeen, noOneHome: o.noOneHome, outboxId },
      );
      events.push(await insertBoardEvent(tx, v.schoolId, 'visit.completed', { visitId }));
      const initials = initialsOf(p);
      // Concerns typed into the outcome reach the people the school names for concerns, as one raised
      // with "Raise a concern now" does (Heath Lane: "Inform the safeguarding manager and attendance
      // line manager of any incidents of aggression, violence or threat during the visit"; Lime
      // Hills: "Any Child Protection concerns … discussed with the Safeguarding team on arrival
      // back") — not only the CPOMS record, which nobody may read today. "No answer" writes its own
      // wait at the door as its concern: that is the child-not-seen notice below, not a concern.
      const typed = action === 'record-outcome' ? o.concerns.map((c) => c.trim()).filter(Boolean) : [];
      const concerns = typed.length
        ? await insertNotices(tx, {
            schoolId: school.id,
            kind: 'concern',
            visitId,
            key: 'outcome',
            targets: school.notices.concern,
            subject: `concern recorded in the outcome of home visit #${visitId}`,
            text: `${user.displayName} recorded ${typed.length === 1 ? 'a concern' : `${typed.length} concerns`} in the outcome of home visit #${visitId}${initials ? ` (pupil ${initials})` : ''}: ${typed.join(' · ')}`,
          })
        : [];
      // A child not seen: the people the school names hear of it at once (the board keeps the
      // pupil under "needs follow-up" until the safeguarding team records what was done).
      // Thames View 3.4 "If the parent/carer does not arrive the visit will be cancelled": "no answer"
      // is the outcome (child not seen, followed up) and the appointment is cancelled — its 2.7
      // cancellation record beside the booking, and the people named for cancellations told (not the
      // family, who were not there: the slip through the door is for them).
      const cancelled =
        action === 'no-answer'
          ? await cancellationNotice(tx, deps, v, user, o.concerns[0] ?? 'no answer at the door', {
              family: false,
            })
          : [];
      if (o.childSeen) return [...concerns, ...cancelled];
      const notSeen = await insertNotices(tx, {
        schoolId: school.id,
        kind: 'child-not-seen',
        visitId,
        targets: school.notices.childNotSeen,
        subject: `child not seen on visit #${visitId}`,
        text: `A child was NOT seen on home visit #${visitId}${initials ? ` (pupil ${initials})` : ''} — ${o.noOneHome ? 'no one home' : 'child not seen'}, recorded by ${user.displayName}. Open the visit in Doorstep and record the follow-up.`,
      });
      return [...concerns, ...cancelled, ...notSeen];
    },
    { relayOutbox: true },
  );
  await sendNotices(deps.producer, notices);
}

/** A visit called off, with the reason (e.g. parent not present after 20 minutes, dangerous animal). */
export async function cancelVisit(
  deps: VisitDeps,
  user: User,
  visitId: string,
  reason: string,
): Promise<void> {
  if (!reason.trim()) throw doorstepError('BAD_REQUEST', 'reason: expected why the visit is cancelled');
  const notices = await change(
    deps,
    async (tx, events) => {
      const v = await mustLock(tx, visitId);
      assertMayActOn(user, v);
      must(deps, user, v, 'cancel');
      // Cancelled while out: still watched until the worker is back safe.
      await markCancelled(tx, visitId, deps.now(), reason.trim());
      await audit(
        tx,
        user,
        'visit.cancelled',
        v,
        { status: v.status },
        { status: 'cancelled', reason: reason.trim() },
      );
      events.push(await insertBoardEvent(tx, v.schoolId, 'visit.cancelled', { visitId }));
      return cancellationNotice(tx, deps, v, user, reason.trim(), { whileOut: isOut(v) });
    },
    { relayOutbox: true },
  );
  await sendNotices(deps.producer, notices);
}

/**
 * Thames View 3.8/3.9, Hampton: a cancellation goes in writing to the people the school names; and
 * (2.7) a visit whose appointment record was written gets a cancellation record beside it.
 */
async function cancellationNotice(
  tx: Queryable,
  deps: VisitDeps,
  v: VisitRow,
  user: User,
  reason: string,
  how: {
    /** Whether the family is texted (not after Thames View's no answer: the slip is for them). */
    family?: boolean;
    /**
     * Called off while the worker is out (at the door): Hampton "if they have any doubts to their
     * personal safety they will leave the property and return/make contact with school where the HoS
     * will discuss the perceived dangers … The visit may be cancelled or rearranged". The people named
     * for concerns hear of it now and the family is not texted from the doorstep — the school tells
     * them once it has decided; where the school names nobody for concerns (nobody would decide), the
     * family is told as before.
     */
    whileOut?: boolean;
  } = {},
) {
  // A text to the family announcing the visit, not yet sent (a retry, the relay): never sent now.
  await withdrawPendingNotices(tx, v.id, 'family', 'the visit was cancelled');
  await writeAppointmentRecord(tx, deps, { ...v, status: 'cancelled' }, 'cancelled', {
    cancelReason: reason,
  });
  const school = knownSchool(deps.config, v.schoolId);
  const initials = await pupilInitials(tx, v.schoolId, v.pupilMisId);
  const calledOff = how.whileOut === true && school.notices.concern.length > 0;
  const family = (how.family ?? true) && !calledOff;
  // The family (`sms:family`) is told the visit is off in its own words; the staff's reason stays
  // with the people the school names inside it.
  const toFamily = (t: string) => t.endsWith(':family');
  const staff = await insertNotices(tx, {
    schoolId: school.id,
    kind: 'cancelled',
    visitId: v.id,
    targets: school.notices.cancelled.filter((t) => !toFamily(t)),
    subject: `home visit #${v.id} cancelled`,
    text: `Home visit #${v.id}${initials ? ` (pupil ${initials})` : ''} planned for ${v.plannedFor} was cancelled by ${user.displayName}: ${reason}${family ? '' : ' (called off while out: the family has not been told by Doorstep)'}`,
  });
  const toldFamily = await insertNotices(tx, {
    schoolId: school.id,
    kind: 'cancelled',
    visitId: v.id,
    targets: family ? school.notices.cancelled.filter(toFamily) : [],
    subject: `home visit on ${v.plannedFor} cancelled`,
    text: familyCancellationText(school, v.plannedFor),
  });
  const concern = calledOff
    ? await insertNotices(tx, {
        schoolId: school.id,
        kind: 'concern',
        visitId: v.id,
        key: 'called-off',
        targets: school.notices.concern,
        subject: `home visit #${v.id} called off at the door`,
        text: `${user.displayName} called off home visit #${v.id}${initials ? ` (pupil ${initials})` : ''} while out: ${reason}. The family has not been told by Doorstep: decide whether to cancel or rearrange, and tell them.`,
      })
    : [];
  return [...staff, ...toldFamily, ...concern];
}

/**
 * Thames View 3.5: a parent who gave notice they are running late (recorded on the visit) is over the
 * pack's limit: the visit is cancelled with the clause as its reason, saying the notice was given, by
 * whom it was recorded and when (the lifecycle allows it only with that notice and past the limit).
 * The reason is what the visit's record, the pupil's chronology, the 2.7 cancellation record and the
 * people told of cancellations read. Cancelled while out: still watched until the worker is back safe.
 */
export async function cancelParentLate(deps: VisitDeps, user: User, visitId: string): Promise<void> {
  const notices = await change(
    deps,
    async (tx, events) => {
      const v = await mustLock(tx, visitId);
      assertMayActOn(user, v);
      must(deps, user, v, 'parent-late-cancel');
      const a = deps.rulesFor(v.schoolId).appointments!;
      const by = v.parentLateNoticeBy?.startsWith('user:')
        ? await userById(tx, v.parentLateNoticeBy.slice('user:'.length))
        : undefined;
      const recorded = v.parentLateNoticeAt
        ? ` (recorded${by ? ` by ${by.displayName}` : ''} at ${londonClock(v.parentLateNoticeAt)})`
        : '';
      const reason = `The parent/carer gave notice they were running late${recorded} and was over ${a.lateCancelAfterMinutes} minutes late (policy${a.source ? `: ${a.source}` : ''})`;
      await markCancelled(tx, visitId, deps.now(), reason);
      await audit(tx, user, 'visit.cancelled', v, { status: v.status }, { status: 'cancelled', reason });
      events.push(await insertBoardEvent(tx, v.schoolId, 'visit.cancelled', { visitId }));
      return cancellationNotice(tx, deps, v, user, reason);
    },
    { relayOutbox: true },
  );
  await sendNotices(deps.producer, notices);
}

/** The safeguarding team records what was done about a child not seen; the pupil leaves "needs follow-up". */
export async function followUpDone(
  deps: VisitDeps,
  user: User,
  visitId: string,
  note: string,
): Promise<void> {
  if (!note.trim()) throw doorstepError('BAD_REQUEST', 'note: expected what was done');
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    must(deps, user, v, 'follow-up-done');
    await markFollowUpDone(tx, visitId, deps.now(), `user:${user.id}`);
    await audit(tx, user, 'visit.follow-up-done', v, null, { note: note.trim() });
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.follow-up-done', { visitId }));
  });
}

/**
 * A visit's outcome record to the school's records (CPOMS, Arbor, preview), or a correction beside it
 * (`correction`: what it puts right, once per moment `now`): one kind, pupil, date and key for both, so
 * a correction lands beside the record it corrects.
 */
export function recordVisitOutcome(
  tx: Queryable,
  school: Parameters<typeof recordToSinks>[1],
  v: Pick<VisitRow, 'id' | 'schoolId' | 'pupilMisId' | 'departedAt'>,
  record: { title: string; body: string },
  now: Date,
  correction?: string,
): Promise<string | null> {
  const key = `visit-outcome:${v.schoolId}:${v.id}`;
  return recordToSinks(tx, school, {
    schoolId: v.schoolId,
    kind: 'visit_outcome',
    pupilIds: [v.pupilMisId],
    title: record.title,
    body: record.body,
    occurredAt: v.departedAt ?? now,
    idempotencyKey: correction ? `${key}:${correction}:${now.toISOString()}` : key,
    sourceType: 'visit',
    sourceId: v.id,
  });
}
