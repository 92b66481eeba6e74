import { londonClock } from '../domain/attendance/dates.ts';
import type { Queryable } from '../store/db.ts';
import { insertNotices } from '../store/notices.ts';
import type { User } from '../store/users.ts';
import { visitStaffNames } from '../store/visit-queries.ts';
import type { VisitRow } from '../store/visits.ts';
import { knownSchool } from './access.ts';
import type { VisitDeps } from './change.ts';
import { familyDate } from './family-notice.ts';
import { pupilInitials } from './visit-notices.ts';

/** What made the visit's day or time known: asked for, moved to another day, its time set or changed. */
export type PlannedStep =
  | { step: 'requested' }
  | { step: 'date-changed'; from: string }
  | { step: 'time-set'; from: Date | null };

/**
 * Hampton's family support worker: "This will be planned along with the head of school as safeguard
 * lead … the office staff and head of school have been informed about the home visit date and time."
 * The people the school names in `notices.planned` hear of each visit asked for — its day and time,
 * who asked and who is going — whether or not the pack needs it authorised (Hampton needs no
 * authorisation, so without this a visit could leave with nobody but the worker having heard of it),
 * and again when its day or time is set or changed before it leaves. Written in the step's
 * transaction, sent by `send-notice` after the commit; the pupil by initials only (the text leaves
 * Doorstep by SMS or e-mail), never the reason for the visit or the address: the visit number leads
 * the reader to them, signed in.
 */
export async function visitPlannedNotice(
  tx: Queryable,
  deps: VisitDeps,
  user: User,
  v: VisitRow,
  what: PlannedStep,
): Promise<string[]> {
  const school = knownSchool(deps.config, v.schoolId);
  const targets = school.notices.planned;
  if (!targets.length || (v.status !== 'requested' && v.status !== 'authorised')) return [];
  const initials = await pupilInitials(tx, v.schoolId, v.pupilMisId);
  const staff = await visitStaffNames(tx, v);
  const about = `Home visit #${v.id}${initials ? ` (pupil ${initials})` : ''}`;
  const day = `${familyDate(v.plannedFor)} (${v.plannedFor})`;
  const time = v.appointmentAt ? `at ${londonClock(v.appointmentAt)}` : 'no time set yet';
  const going = `Going: ${staff.length ? staff.join(' and ') : 'not named yet'}.`;
  const now = deps.now().toISOString();
  const [key, subject, text] =
    what.step === 'requested'
      ? [
          'requested',
          `home visit #${v.id} planned for ${v.plannedFor}`,
          `${about} is planned for ${day}, ${time}: asked for by ${user.displayName}. ${going} Open the visit in Doorstep.`,
        ]
      : what.step === 'date-changed'
        ? [
            `date:${v.plannedFor}:${now}`,
            `home visit #${v.id} moved to ${v.plannedFor}`,
            `${about} was moved from ${what.from} to ${day}, ${time}, by ${user.displayName}. ${going} Open the visit in Doorstep.`,
          ]
        : [
            `time:${v.appointmentAt?.toISOString() ?? ''}:${now}`,
            `home visit #${v.id} on ${v.plannedFor}: time ${what.from ? 'changed' : 'set'}`,
            `${about} on ${day}: its time was ${what.from ? `changed from ${londonClock(what.from)} to` : 'set:'} ${v.appointmentAt ? londonClock(v.appointmentAt) : 'none'}, by ${user.displayName}. ${going} Open the visit in Doorstep.`,
          ];
  return insertNotices(tx, {
    schoolId: school.id,
    kind: 'visit-planned',
    visitId: v.id,
    key,
    targets,
    subject,
    text,
  });
}
