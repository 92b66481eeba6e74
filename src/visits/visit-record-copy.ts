import type { SchoolConfig } from '../config/schema.ts';
import { londonTime } from '../records/templates/london-time.ts';
import type { Queryable } from '../store/db.ts';
import { insertNotices } from '../store/notices.ts';
import type { User } from '../store/users.ts';
import { visitStaffNames } from '../store/visit-queries.ts';
import { formatAddress, type VisitRow } from '../store/visits.ts';
import { audit } from './change.ts';
import { pupilInitials } from './visit-notices.ts';

/**
 * Hampton: "All home visits should be recorded detailing the person's name, the date of the visit,
 * the visit address, a contact number, the time of departure from the office, the time of expected
 * return and confirmation of return. A named contact person should also be identified (The Office).
 * A copy of this should be given to the office and the HoS." — the people the school names in
 * `notices.visitRecord` get the record as the visit leaves (its departure copy) and its confirmation
 * of return when the worker is back safe: each once per visit and target (written in the step's
 * transaction, sent by `send-notice`), each audited with where it went. The pupil by initials only.
 */
export async function visitRecordCopy(
  tx: Queryable,
  school: SchoolConfig,
  user: User,
  v: VisitRow,
  step: 'departed' | 'returned',
  at: Date,
): Promise<string[]> {
  const targets = school.notices.visitRecord;
  if (!targets.length) return [];
  const initials = await pupilInitials(tx, v.schoolId, v.pupilMisId);
  const staff = await visitStaffNames(tx, v);
  const who = `home visit #${v.id}${initials ? ` (pupil ${initials})` : ''}`;
  const text =
    step === 'departed'
      ? [
          `Visit record, ${who}:`,
          `Staff: ${staff.join(' and ') || 'not named'}`,
          `Date: ${v.plannedFor}`,
          `Address: ${formatAddress(v.address)}`,
          `Contact number: ${v.workerPhone ?? 'none recorded'}`,
          `Left the office: ${v.departedAt ? londonTime(v.departedAt) : londonTime(at)}`,
          `Expected back: ${v.expectedReturnAt ? londonTime(v.expectedReturnAt) : 'not set'}`,
          `Named contact: the office${school.phone ? ` (${school.phone})` : ''}`,
        ].join('\n')
      : `Visit record, ${who}: return confirmed — ${staff.join(' and ') || 'the staff'} back safe at ${londonTime(at)} (expected ${v.expectedReturnAt ? londonTime(v.expectedReturnAt) : 'not set'}).`;
  const ids = await insertNotices(tx, {
    schoolId: school.id,
    kind: 'visit-record',
    visitId: v.id,
    key: step,
    targets,
    subject: `${who}: ${step === 'departed' ? 'visit record' : 'return confirmed'}`,
    text,
  });
  if (ids.length) await audit(tx, user, 'visit.record-copied', v, null, { step, targets, notices: ids });
  return ids;
}
