import { doorstepError } from '../errors.ts';
import { insertBoardEvent } from '../store/board.ts';
import type { User } from '../store/users.ts';
import { markOutOfHoursApproved } from '../store/visit-changes.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';

/**
 * An authorised visit approved to be made outside the pack's hours, after its authorisation, by one
 * of its authorisers — Lime Hills: "It is strongly recommended that no one makes an evening home
 * visit"; King's: "regular working hours unless approved for exceptional circumstances". For a visit
 * authorised for the day whose time slips past the hours (an emergency, a family only in after
 * work): without it, the visit would have to be cancelled and asked for again. The reason is kept in
 * the audit.
 */
export async function approveOutOfHours(
  deps: VisitDeps,
  user: User,
  visitId: string,
  reason: string,
): Promise<void> {
  const why = reason.trim();
  if (!why) throw doorstepError('BAD_REQUEST', 'reason: expected why the visit is made outside the hours');
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    must(deps, user, v, 'approve-out-of-hours');
    await markOutOfHoursApproved(tx, visitId);
    await audit(
      tx,
      user,
      'visit.out-of-hours-approved',
      v,
      { outOfHoursApproved: false },
      {
        outOfHoursApproved: true,
        reason: why,
      },
    );
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.out-of-hours-approved', { visitId }));
  });
}
