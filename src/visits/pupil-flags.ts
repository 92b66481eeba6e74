import { doorstepError } from '../errors.ts';
import { queueAfterCommit } from '../queue/after-commit.ts';
import { appendAudit } from '../store/audit.ts';
import { type ManualFlagName, setManualFlag } from '../store/pupils.ts';
import type { User } from '../store/users.ts';
import { assertSchool } from './access.ts';
import type { VisitDeps } from './change.ts';

/**
 * A welfare concern the safeguarding team sets or clears by hand on a pupil, always with a reason:
 * kept apart from the MIS's flags (an import never touches it), read by the trigger rules like them,
 * and audited — who, when, and the reason (the reason in the audit's erasable details). The school's
 * triggers are then evaluated at once (a vulnerable pupil's absence is a visit now, not after the
 * nightly run); with the queue away, the nightly run evaluates them.
 */
export async function setPupilFlag(
  deps: Pick<VisitDeps, 'db' | 'producer'>,
  user: User,
  now: Date,
  r: { schoolId: string; misId: string; flag: ManualFlagName; set: boolean; reason: string },
): Promise<void> {
  assertSchool(user, r.schoolId);
  await deps.db.transaction(async (tx) => {
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
  // The school's pupils (a job carries no pupil id: personal data in Redis), as `doorstep leave`
  // queues them; once while one waits, and again after one already running (it may have read the
  // flag as it was).
  await queueAfterCommit(() =>
    deps.producer?.enqueue(
      'evaluate-triggers',
      { schoolId: r.schoolId, reason: 'manual' },
      { deduplicationId: `evaluate-triggers:${r.schoolId}:flags`, rerunIfActive: true },
    ),
  );
}
