import type { LifecycleVisit } from '../../src/domain/visits/lifecycle.ts';

/**
 * A visit in the lifecycle's terms before anyone has left: nobody out, nothing recorded, led by
 * `lead`, asked for by `requestedBy`, in `status`.
 */
export function visitBeforeLeaving(
  status: LifecycleVisit['status'],
  who: { lead: string | null; requestedBy: string } = { lead: 'lead', requestedBy: 'req' },
): LifecycleVisit {
  return {
    status,
    leadUserId: who.lead,
    partnerUserId: null,
    requestedBy: who.requestedBy,
    departedAt: null,
    returnedAt: null,
    arrivedAt: null,
    outcomeRecorded: false,
    childSeen: null,
    followUpDone: false,
    hasSafeWord: false,
    agreements: 0,
    doorWaitMinutes: null,
    parentSaidLate: false,
    recentlyBack: false,
    ownReturnTimeClosed: false,
    commute: false,
    commuteApproved: false,
    outOfHoursApproved: false,
    dayPassed: false,
    plannedToday: true,
  };
}
