import { onVisit } from '../domain/visits/lifecycle.ts';
import { POLICY_EXEMPTION, type VisitRules } from '../domain/visits/rules.ts';
import type { PupilMatch } from '../store/pupils.ts';
import type { User } from '../store/users.ts';
import { type Address, formatAddress, type VisitRow } from '../store/visits.ts';
import { seesEveryVisit } from './access.ts';

/**
 * What of a pupil's record a person is shown on a visit and in the pupil search. The office and the
 * safeguarding team (who open the pupil page) see it all. Visiting staff see a pupil's safeguarding
 * details — the MIS's flags, the welfare concern set by hand with its reason, the UPN and the family's
 * phone numbers — only on a visit they go on (lead or partner) once someone has cleared it to go:
 * authorised, or its risk assessed (where the policy needs no authorisation), or it has left — or
 * where the school's policy lets it leave with neither (no authorisation, and the risk assessed at the
 * request, which a requester who is no assessor leaves unassessed): nothing more clears it then, and
 * the people going read them before they leave, not once out. Visiting staff say they are going
 * before the departure form ("I'll go on this visit": `go-on-visit`, src/visits/going.ts), so the
 * lead reads them before confirming on it that they have. Asking for a visit, or seeing one nobody
 * leads yet, shows the pupil's name, year and the visit's own address, which is what planning it needs; on a visit they asked for but did not go on, what was
 * found at the door (who was spoken to, the concerns, the follow-up: OUTCOME_DETAILS) is withheld
 * too, and of the visit itself they see what planning and following it needs (VISIT_FIELDS). Pure:
 * the caller reads the store.
 */

/** Whether `user` is shown the pupil's safeguarding details on this visit (see above). */
export function seesPupilDetails(
  user: User,
  v: Pick<VisitRow, 'leadUserId' | 'partnerUserId' | 'authorisedAt' | 'riskAssessedAt' | 'departedAt'>,
  rules: ClearingRules,
): boolean {
  if (seesEveryVisit(user)) return true;
  const goes = onVisit(user, v);
  return (
    goes &&
    (v.authorisedAt !== null ||
      // An assessment clears it only where the policy asks no authorisation: where it does (Lime
      // Hills, King's, Thames View), the assessor may still refuse it, and anyone could say they go.
      (v.riskAssessedAt !== null && !rules.authorisation.required) ||
      v.departedAt !== null ||
      leavesUncleared(rules))
  );
}

/** What of the school's policy says what clears a visit to go. */
export type ClearingRules = { authorisation: Pick<VisitRules['authorisation'], 'required'> } & {
  risk: Pick<VisitRules['risk'], 'at'>;
};

/**
 * The school's policy lets a visit leave neither authorised nor assessed by an assessor: no
 * authorisation, and the risk assessed at the request (by the requester when they are an assessor,
 * else never before leaving).
 */
export const leavesUncleared = (rules: ClearingRules): boolean =>
  !rules.authorisation.required && rules.risk.at === 'request';

/** What of a pupil's record the visit page is given, and whether the rest was withheld. */
export function visitPupilFor(
  user: User,
  v: Parameters<typeof seesPupilDetails>[1],
  rules: ClearingRules,
  pupil: Record<string, unknown> | undefined,
  contacts: Record<string, unknown>[],
): {
  pupil: Record<string, unknown> | null;
  contacts: Record<string, unknown>[];
  pupilDetailsWithheld: boolean;
} {
  if (seesPupilDetails(user, v, rules))
    return { pupil: pupil ?? null, contacts, pupilDetailsWithheld: false };
  return {
    pupil: pupil
      ? {
          mis_id: pupil.mis_id,
          forename: pupil.forename,
          surname: pupil.surname,
          year_group: pupil.year_group,
        }
      : null,
    contacts: [],
    pupilDetailsWithheld: true,
  };
}

/** What a visit is for, told to those the pupil's details are withheld from in place of its trigger's words. */
export const WITHHELD_REASON = 'Attendance concern (details withheld)';

/**
 * A visit's reason as a person is shown it. A reason carrying the title of the trigger the visit was
 * asked for from (the request's default, and what the board's request form starts with) names what
 * fired — "Absence of a vulnerable pupil" fires only for the flags withheld — so those the pupil's
 * details are withheld from (`seesDetails` false, `seesPupilDetails`) are told WITHHELD_REASON instead;
 * so too where the trigger's title could not be read (`triggerTitle` undefined). A reason typed by
 * hand without the title is shown as it is; everyone else sees the reason as recorded.
 */
export function visitReasonFor(
  seesDetails: boolean,
  v: Pick<VisitRow, 'reason' | 'triggerEpisodeId'>,
  triggerTitle: string | undefined,
): string {
  if (seesDetails || v.triggerEpisodeId === null) return v.reason;
  const title = triggerTitle?.trim().toLowerCase();
  return !title || v.reason.toLowerCase().includes(title) ? WITHHELD_REASON : v.reason;
}

/**
 * What of a recorded outcome is told only to those shown the pupil's details (`seesPupilDetails`):
 * who was spoken to at the door, the concerns and the follow-up — what was found there is as much a
 * safeguarding detail as the flags. The rest (child seen, no one home, the slip, the agreements the
 * family made and any broken) is everyone's who may open the visit.
 */
export const OUTCOME_DETAILS = ['spokeTo', 'concerns', 'followUp'] as const;

/** What the register's cells say in place of an outcome's detail withheld (never left empty: empty says "none"). */
export const WITHHELD_DETAIL = '(details withheld)';

/**
 * An outcome as a person is shown it: whole where `seesDetails` (`seesPupilDetails`), else without
 * OUTCOME_DETAILS and marked `detailsWithheld` — whether or not there were any, so an empty answer
 * never tells that there were none.
 */
export function outcomeFor<O extends Record<string, unknown>>(
  seesDetails: boolean,
  outcome: O | null,
): (O & { detailsWithheld?: true }) | null {
  if (!outcome || seesDetails) return outcome;
  const shown: Record<string, unknown> = { ...outcome };
  for (const k of OUTCOME_DETAILS) delete shown[k];
  return { ...(shown as O), detailsWithheld: true };
}

/**
 * Who is shown each of a visit's fields on its page (`GET /api/visits/:id`), in one place:
 *  - `all`: everyone who may open the visit — who asked for it, who may take it, who goes, the office
 *    and safeguarding: what planning it and following it needs, and what the page reads;
 *  - `details`: only those shown the pupil's details (`seesPupilDetails`: the office, safeguarding,
 *    admin, and the people going once it is cleared to go) — the assessor's risk reason, the
 *    authoriser's note, the worker's phone, vehicle and fob while out, and the record of who did what;
 *  - `marked`: said only as recorded or not, to those shown the details (the safe word: the office
 *    reveals it with one audited click, `reveal-safe-word`).
 * Every field is named (a new column is a compile error until it is placed); `outcome` is `all` with
 * its details (OUTCOME_DETAILS) withheld from whom `seesPupilDetails` refuses, and `reason` is
 * `visitReasonFor`'s.
 */
const VISIT_FIELDS: Readonly<Record<keyof VisitRow, 'all' | 'details' | 'marked'>> = {
  id: 'all',
  version: 'all',
  schoolId: 'all',
  pupilMisId: 'all',
  reason: 'all',
  address: 'all',
  plannedFor: 'all',
  // Typed by whoever asked for it, for whoever goes: planning needs it.
  riskNotes: 'all',
  riskLevel: 'all',
  status: 'all',
  leadUserId: 'all',
  partnerUserId: 'all',
  departedAt: 'all',
  estimatedArrivalAt: 'all',
  expectedReturnAt: 'all',
  checkInMinutes: 'all',
  lastCheckInAt: 'all',
  returnedAt: 'all',
  arrivedAt: 'all',
  outcome: 'all',
  completedAt: 'all',
  cancelledAt: 'all',
  cancelReason: 'all',
  followUpDoneAt: 'all',
  riskAssessedAt: 'all',
  // Whoever asked for the visit records how the family was told (`tell-family`); an exemption is
  // named only to those shown the pupil's details (POLICY_EXEMPTION to the rest).
  familyNotice: 'all',
  appointmentAt: 'all',
  appointmentRecords: 'all',
  followsVisitId: 'all',
  commute: 'all',
  commuteApprovedAt: 'all',
  riskReason: 'details',
  authorisationNote: 'details',
  workerPhone: 'details',
  vehicle: 'details',
  fobDeviceId: 'details',
  triggerEpisodeId: 'details',
  requestedBy: 'details',
  requestedAt: 'details',
  authorisedBy: 'details',
  authorisedAt: 'details',
  outOfHoursApproved: 'details',
  riskAssessedBy: 'details',
  riskAssessedFlags: 'details',
  commuteApprovedBy: 'details',
  backSafeBy: 'details',
  parentLateNoticeAt: 'details',
  parentLateNoticeBy: 'details',
  safeWord: 'marked',
};

/** The visit as `user` is shown it on its page (VISIT_FIELDS); `triggerTitle` as `visitReasonFor` takes it. */
export function visitShownTo(
  user: User,
  v: VisitRow,
  rules: ClearingRules,
  triggerTitle: string | undefined,
): Partial<Record<keyof VisitRow, unknown>> {
  const sees = seesPupilDetails(user, v, rules);
  const shown: Partial<Record<keyof VisitRow, unknown>> = {};
  for (const [k, who] of Object.entries(VISIT_FIELDS) as [keyof VisitRow, 'all' | 'details' | 'marked'][]) {
    if (who === 'all') shown[k] = v[k];
    else if (sees) shown[k] = who === 'marked' ? (v[k] ? '(recorded)' : null) : v[k];
  }
  shown.reason = visitReasonFor(sees, v, triggerTitle);
  shown.outcome = outcomeFor(sees, v.outcome);
  // An exemption from telling the family first names what the pupil's records show ("missing
  // education"): to those not shown them, only that the policy's exemption was recorded.
  if (!sees && v.familyNotice?.exemption)
    shown.familyNotice = { ...v.familyNotice, exemption: POLICY_EXEMPTION };
  return shown;
}

/** A pupil found by the request form's search. */
export type PupilSearchResult =
  | (PupilMatch & { hasAddress: boolean })
  | (Pick<PupilMatch, 'mis_id' | 'forename' | 'surname' | 'year_group'> & { hasAddress: boolean });

/**
 * A search match as `user` is shown it: for visiting staff, without the home address and the family's
 * contacts (a two-letter search would list a school's addresses), only whether the MIS has an address
 * — a visit asked for without one typed goes to it.
 */
export function pupilMatchFor(user: User, m: PupilMatch): PupilSearchResult {
  const hasAddress = formatAddress((m.address ?? {}) as Address) !== '';
  if (seesEveryVisit(user)) return { ...m, hasAddress };
  return { mis_id: m.mis_id, forename: m.forename, surname: m.surname, year_group: m.year_group, hasAddress };
}
