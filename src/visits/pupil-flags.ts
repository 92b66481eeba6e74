import { doorstepError } from '../errors.ts';
import { appendAudit } from '../store/audit.ts';
import type { Db } from '../store/db.ts';
import { type ManualFlagName, setManualFlag } from '../store/pupils.ts';
import type { User } from '../store/users.ts';
import { assertSchool } from './access.ts';

/**
 * A welfare concern the safeguarding team sets or clears by hand on a pupil, always with a reason:
 * kept apart from the MIS's flags (an import never touches it), read by the trigger rules like them,
 * and audited — who, when, and the reason (the reason in the audit's erasable details).
 */
export async function setPupilFlag(
  db: Db,
  user: User,
  now: Date,
  r: { schoolId: string; misId: string; flag: ManualFlagName; set: boolean; reason: string },
): Promise<void> {
  assertSchool(user, r.schoolId);
  await db.transaction(async (tx) => {
    const value = r.set ? { reason: r.reason, by: `user:${user.id}`, at: now.toISOString() } : null;
    const done = await setManualFlag(tx, r.schoolId, r.misId, r.flag, value);
    if (!done) throw doorstepError('NOT_FOUND', `no pupil "${r.misId}" at ${r.schoolId}`);
    await appendAudit(tx, {
      actor: `user:${user.id}`,
      action: r.set ? 'pupil.flag.set' : 'pupil.flag.cleared',
      schoolId: r.schoolId,
      entityType: 'pupil',
      entityId: r.misId,
      before: done.before ? { [r.flag]: done.before } : null,
      after: { [r.flag]: r.set, reason: r.reason },
    });
  });
}
