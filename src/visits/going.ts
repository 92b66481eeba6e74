import { insertBoardEvent } from '../store/board.ts';
import type { User } from '../store/users.ts';
import { setVisitLead } from '../store/visit-changes.ts';
import { assertMayActOn } from './access.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';
import { leadOf } from './departure.ts';

/**
 * "I'll go on this visit", before the departure form: the person going named as the visit's lead
 * (the lifecycle's `go-on-visit`), by the rules of the departure form's "who is going" (`leadOf`):
 * visiting staff of the school take it themselves; the office, safeguarding or an admin names an
 * active member of its visiting staff (`named`). From then the visit is theirs: the pupil's flags and
 * the family's contacts are shown to them once it is cleared to go (`seesPupilDetails`), before they
 * confirm on the departure form that they have read them. Audited; returns who leads it.
 */
export async function goOnVisit(
  deps: VisitDeps,
  user: User,
  visitId: string,
  named?: string | undefined,
): Promise<{ leadUserId: string }> {
  return change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    assertMayActOn(user, v);
    must(deps, user, v, 'go-on-visit');
    const lead = await leadOf(tx, user, v, named);
    await setVisitLead(tx, visitId, lead.id);
    await audit(tx, user, 'visit.lead-named', v, { lead: null }, { lead: lead.id });
    // The board lists who leads each visit of the day.
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.lead-named', { visitId }));
    return { leadUserId: lead.id };
  });
}

/**
 * The lead is not going after all (the lifecycle's `not-going`: its lead, the office or
 * safeguarding): nobody leads the visit again, and whoever goes takes it. Audited.
 */
export async function notGoing(deps: VisitDeps, user: User, visitId: string): Promise<void> {
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    assertMayActOn(user, v);
    must(deps, user, v, 'not-going');
    await setVisitLead(tx, visitId, null);
    await audit(tx, user, 'visit.lead-withdrawn', v, { lead: v.leadUserId }, { lead: null });
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.lead-named', { visitId }));
  });
}
