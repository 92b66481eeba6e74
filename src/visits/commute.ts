import { doorstepError } from '../errors.ts';
import { insertBoardEvent } from '../store/board.ts';
import type { User } from '../store/users.ts';
import { markCommuteApproved } from '../store/visit-changes.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';

/**
 * A visit on the way to work (from home) or on the way home from work, approved beforehand by whoever
 * the school's pack names — Hampton: "Home visits on the way to work or on the way home from work
 * should not occur without prior approval of the HoS". Until then the visit cannot leave.
 */
export async function approveCommute(
  deps: VisitDeps,
  user: User,
  visitId: string,
  note?: string,
): Promise<void> {
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    must(deps, user, v, 'approve-commute');
    if (!v.commute) throw doorstepError('CONFLICT', 'this visit is from school and back: nothing to approve');
    const at = deps.now();
    await markCommuteApproved(tx, visitId, { by: user.id, at });
    await audit(
      tx,
      user,
      'visit.commute-approved',
      v,
      { commute: v.commute, approved: false },
      // Whose journey was approved: the lead (who cannot change before the visit leaves).
      { commute: v.commute, lead: v.leadUserId, approved: true, note: note?.trim() || null },
    );
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.commute-approved', { visitId }));
  });
}
