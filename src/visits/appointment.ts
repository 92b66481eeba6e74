import { appointmentRecordFor, londonInstant } from '../domain/visits/appointment.ts';
import { decide } from '../domain/visits/lifecycle.ts';
import { doorstepError } from '../errors.ts';
import { recordToSinks } from '../records/record-outbox.ts';
import { londonTime } from '../records/templates/london-time.ts';
import { renderVisitAppointment } from '../records/templates/visit-appointment.ts';
import { countAppointmentRecord, saveAppointment } from '../store/appointments.ts';
import { insertBoardEvent } from '../store/board.ts';
import type { Queryable } from '../store/db.ts';
import { insertNotices } from '../store/notices.ts';
import { pupilForRecord } from '../store/pupils.ts';
import type { User } from '../store/users.ts';
import { saveFamilyNotice } from '../store/visit-changes.ts';
import { visitStaffNames } from '../store/visit-queries.ts';
import { type Address, formatAddress, lifecycleOf, type VisitRow } from '../store/visits.ts';
import { actorOf, knownSchool } from './access.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';
import { visitPlannedNotice } from './planned-notice.ts';
import { awaitingAuthorisationAgain, holdsApproval, sendBack } from './send-back.ts';
import { pupilInitials, sendNotices } from './visit-notices.ts';

/**
 * Thames View 2.7: "Appointment records must include the time and location along with the name of
 * the pupil on CPOMS". For packs that ask (`visits.appointmentRecords`), the record goes into the
 * outbox — once per sink the school routes `visit_appointment` to — in the same transaction as the
 * step that books the visit (authorised, or the time set on an authorised visit); a change of time or
 * address after that is a new numbered record, a cancellation one more. Keys
 * `visit-appointment:<school>:<visit>:<n>`: a step retried writes nothing new.
 */
export async function writeAppointmentRecord(
  tx: Queryable,
  deps: VisitDeps,
  v: VisitRow,
  step: 'booked' | 'changed' | 'cancelled',
  extra: { cancelReason?: string; previous?: { at: Date | null; address: string } } = {},
): Promise<string | null> {
  const rules = deps.rulesFor(v.schoolId);
  const kind = appointmentRecordFor(
    rules,
    { status: v.status, appointmentAt: v.appointmentAt, recordsWritten: v.appointmentRecords },
    step,
  );
  if (!kind || !v.appointmentAt) return null;
  const school = knownSchool(deps.config, v.schoolId);
  const pupil = await pupilForRecord(tx, v.schoolId, v.pupilMisId);
  const n = v.appointmentRecords + 1;
  const record = renderVisitAppointment({
    visitId: v.id,
    kind,
    n,
    pupil,
    at: v.appointmentAt,
    address: formatAddress(v.address),
    visitingStaff: await visitStaffNames(tx, v),
    reason: v.reason,
    cancelReason: extra.cancelReason ?? null,
    previous: extra.previous ?? null,
  });
  const id = await recordToSinks(tx, school, {
    schoolId: v.schoolId,
    kind: 'visit_appointment',
    pupilIds: [v.pupilMisId],
    title: record.title,
    body: record.body,
    occurredAt: deps.now(),
    idempotencyKey: `visit-appointment:${v.schoolId}:${v.id}:${n}`,
    sourceType: 'visit',
    sourceId: v.id,
  });
  await countAppointmentRecord(tx, v.id, n);
  return id;
}

/**
 * Whether a new appointment time set by `user` now would send the visit back (the lifecycle's
 * `set-appointment` effect, and something to withdraw): what the visit page warns of beside the time.
 */
export function newTimeSendsBack(deps: VisitDeps, user: User, v: VisitRow): boolean {
  const d = decide('set-appointment', lifecycleOf(v, deps.now()), actorOf(user), deps.rulesFor(v.schoolId));
  return d.ok && d.effect.withdrawsApproval === true && holdsApproval(v);
}

/**
 * Before leaving, the appointment's time on the visit's planned date (Europe/London) and, when it
 * moved, its address. Setting what is already set changes nothing. A change to an appointment
 * already made is a change to the visit: its appointment record is written again (2.7) and the
 * people the school names for changes hear of it (3.6 "Notification will be given to the Headteacher
 * if any changes are made"). A time set or changed is told to the people named for planned visits
 * (Hampton).
 */
export async function setAppointment(
  deps: VisitDeps,
  user: User,
  visitId: string,
  input: { time: string; address?: Address | undefined },
): Promise<{ outboxId: string | null }> {
  let outboxId: string | null = null;
  const notices = await change(
    deps,
    async (tx, events) => {
      const v = await mustLock(tx, visitId);
      const timing = must(deps, user, v, 'set-appointment');
      const at = londonInstant(v.plannedFor, input.time);
      if (!at)
        throw doorstepError(
          'BAD_REQUEST',
          `time: ${input.time} does not happen on ${v.plannedFor} in London (the clocks go forward)`,
        );
      const address = input.address ?? v.address;
      const before = { at: v.appointmentAt, address: formatAddress(v.address) };
      const moved = before.address !== formatAddress(address);
      if (before.at?.getTime() === at.getTime() && !moved) return [];
      // A new address is the lifecycle's `change-address`: what was authorised and assessed was the
      // old one, so the visit goes back for authorisation (and a new risk assessment). So is a new
      // time, where the pack's assessment weighs the timing (the lifecycle says so).
      const retimed = before.at?.getTime() !== at.getTime() && timing.withdrawsApproval === true;
      const reassess = moved ? must(deps, user, v, 'change-address') : retimed ? timing : null;
      const why = moved
        ? 'the address changed: authorise and assess the visit to the new address'
        : 'the appointment time changed and the risk assessment weighs the timing: authorise and assess the visit at its new time';
      await saveAppointment(tx, visitId, { at, address: moved ? address : undefined });
      // The family's written confirmation named the old time (or address): it is given again.
      const confirmationStale = v.familyNotice?.method === 'written-confirmation';
      if (confirmationStale) await saveFamilyNotice(tx, visitId, null);
      const back = await sendBack(tx, user, v, reassess, why);
      const withdrawn = back.sentBack;
      // A parent's warning that they would be late (Thames View 3.5) was for the old time: withdrawn
      // with it (saveAppointment).
      const lateNoticeWithdrawn = v.parentLateNoticeAt !== null && before.at?.getTime() !== at.getTime();
      const after: VisitRow = {
        ...back.visit,
        appointmentAt: at,
        address,
        ...(confirmationStale ? { familyNotice: null } : {}),
        ...(lateNoticeWithdrawn ? { parentLateNoticeAt: null, parentLateNoticeBy: null } : {}),
      };
      const isChange = v.appointmentAt !== null;
      outboxId = await writeAppointmentRecord(tx, deps, after, isChange ? 'changed' : 'booked', {
        previous: before,
      });
      await audit(
        tx,
        user,
        'visit.appointment-set',
        v,
        { appointmentAt: before.at?.toISOString() ?? null },
        {
          appointmentAt: at.toISOString(),
          addressChanged: moved,
          sentBack: withdrawn,
          outboxId,
          ...(confirmationStale ? { familyConfirmationWithdrawn: true } : {}),
          ...(lateNoticeWithdrawn ? { parentLateNoticeWithdrawn: true } : {}),
        },
      );
      events.push(await insertBoardEvent(tx, v.schoolId, 'visit.appointment-set', { visitId }));
      const school = knownSchool(deps.config, v.schoolId);
      const initials = await pupilInitials(tx, v.schoolId, v.pupilMisId);
      // Sent back: the people the school names for visits awaiting authorisation hear of it again.
      const again = withdrawn
        ? await awaitingAuthorisationAgain(tx, deps, after, {
            key: moved
              ? `address-changed:${deps.now().toISOString()}`
              : `time-changed:${at.toISOString()}:${deps.now().toISOString()}`,
            text: moved
              ? `Home visit #${visitId}${initials ? ` (pupil ${initials})` : ''} planned for ${v.plannedFor}: its address was changed by ${user.displayName}, so it waits for authorisation (and its risk assessment) again. Open the visit in Doorstep to see the new address.`
              : `Home visit #${visitId}${initials ? ` (pupil ${initials})` : ''} planned for ${v.plannedFor}: its appointment time was ${before.at ? `changed from ${londonTime(before.at)}` : 'set'} to ${londonTime(at)} by ${user.displayName}, and the risk assessment weighs the timing, so it waits for authorisation (and its risk assessment) again.`,
          })
        : [];
      // Those named for planned visits hear of its time (Hampton: "informed about the home visit date
      // and time"); not of an address moved at the same time.
      const planned =
        before.at?.getTime() === at.getTime()
          ? []
          : await visitPlannedNotice(tx, deps, user, after, { step: 'time-set', from: before.at });
      if (!isChange) return [...again, ...planned];
      const changed = await insertNotices(tx, {
        schoolId: school.id,
        kind: 'changed',
        visitId,
        targets: school.notices.changed,
        key: `appointment:${deps.now().toISOString()}`,
        subject: `home visit #${visitId} appointment changed`,
        text: `Home visit #${visitId}${initials ? ` (pupil ${initials})` : ''}: the appointment was changed by ${user.displayName} to ${londonTime(at)}${moved ? ' at a new address' : ''} (was ${before.at ? londonTime(before.at) : 'no time'}).${confirmationStale ? ' The family’s written confirmation named the old one: confirm it to them again.' : ''}`,
      });
      return [...again, ...changed, ...planned];
    },
    { relayOutbox: true },
  );
  await sendNotices(deps.producer, notices);
  return { outboxId };
}
