import type { Effect } from '../domain/visits/lifecycle.ts';
import type { Queryable } from '../store/db.ts';
import { insertNotices } from '../store/notices.ts';
import type { User } from '../store/users.ts';
import { withdrawApproval } from '../store/visit-changes.ts';
import type { VisitRow } from '../store/visits.ts';
import { knownSchool } from './access.ts';
import { audit, type VisitDeps } from './change.ts';

/** Something given for the visit as it stands that a change to where or (where weighed) when would withdraw. */
export function holdsApproval(v: VisitRow): boolean {
  return (
    v.status !== 'requested' ||
    v.riskAssessedAt !== null ||
    v.outOfHoursApproved ||
    v.commuteApprovedAt !== null
  );
}

/**
 * A change that withdraws what was given for the visit as it stood (its address, its day, or a time
 * the risk assessment weighs — the lifecycle's `withdrawsApproval`): the authorisation, the risk
 * assessment, any out-of-hours or commute approval are withdrawn, audited with what they were and
 * why. Returns the visit as it now is, and whether anything was withdrawn (nothing is when the change
 * withdraws nothing or nothing was given).
 */
export async function sendBack(
  tx: Queryable,
  user: User,
  v: VisitRow,
  effect: Pick<Effect, 'withdrawsApproval' | 'status'> | null,
  why: string,
): Promise<{ sentBack: boolean; visit: VisitRow }> {
  if (effect?.withdrawsApproval !== true || !holdsApproval(v)) return { sentBack: false, visit: v };
  await withdrawApproval(tx, v.id);
  const status = effect.status ?? v.status;
  await audit(
    tx,
    user,
    'visit.sent-back-for-authorisation',
    v,
    {
      status: v.status,
      authorisedBy: v.authorisedBy,
      riskLevel: v.riskLevel,
      riskAssessedBy: v.riskAssessedBy,
      outOfHoursApproved: v.outOfHoursApproved,
      commuteApproved: v.commuteApprovedAt !== null,
    },
    {
      status,
      authorisedBy: null,
      riskAssessed: false,
      outOfHoursApproved: false,
      commuteApproved: false,
      why,
    },
  );
  return {
    sentBack: true,
    visit: {
      ...v,
      status,
      authorisedBy: null,
      authorisedAt: null,
      authorisationNote: null,
      riskAssessedBy: null,
      riskAssessedAt: null,
      riskAssessedFlags: null,
      riskReason: null,
      outOfHoursApproved: false,
      commuteApprovedBy: null,
      commuteApprovedAt: null,
    },
  };
}

/**
 * A visit waiting for authorisation again (sent back, or moved while it waited): the people the
 * school names for visits awaiting authorisation hear of it again — the notice that first asked named
 * what has changed. Nothing where the pack needs no authorisation or the visit no longer waits.
 */
export async function awaitingAuthorisationAgain(
  tx: Queryable,
  deps: VisitDeps,
  v: VisitRow,
  notice: { key: string; text: string },
): Promise<string[]> {
  if (!deps.rulesFor(v.schoolId).authorisation.required || v.status !== 'requested') return [];
  return insertNotices(tx, {
    schoolId: v.schoolId,
    kind: 'awaiting-authorisation',
    visitId: v.id,
    targets: knownSchool(deps.config, v.schoolId).notices.awaitingAuthorisation,
    key: notice.key,
    subject: `home visit #${v.id} waits for authorisation again`,
    text: notice.text,
  });
}
