import { onVisit } from '../domain/visits/lifecycle.ts';
import type { PupilMatch } from '../store/pupils.ts';
import type { User } from '../store/users.ts';
import { type Address, formatAddress, type VisitRow } from '../store/visits.ts';
import { seesEveryVisit } from './access.ts';

/**
 * What of a pupil's record a person is shown on a visit and in the pupil search. The office and the
 * safeguarding team (who open the pupil page) see it all. Visiting staff see a pupil's safeguarding
 * details — the MIS's flags, the welfare concern set by hand with its reason, the UPN and the family's
 * phone numbers — only on a visit they go on (lead or partner) once someone has cleared it to go:
 * authorised, or its risk assessed (where the policy needs no authorisation), or it has left. Asking
 * for a visit, or seeing one nobody leads yet, shows the pupil's name, year and the visit's own
 * address, which is what planning it needs. Pure: the caller reads the store.
 */

/** Whether `user` is shown the pupil's safeguarding details on this visit (see above). */
export function seesPupilDetails(
  user: User,
  v: Pick<VisitRow, 'leadUserId' | 'partnerUserId' | 'authorisedAt' | 'riskAssessedAt' | 'departedAt'>,
): boolean {
  if (seesEveryVisit(user)) return true;
  const goes = onVisit(user, v);
  return goes && (v.authorisedAt !== null || v.riskAssessedAt !== null || v.departedAt !== null);
}

/** What of a pupil's record the visit page is given, and whether the rest was withheld. */
export function visitPupilFor(
  user: User,
  v: Parameters<typeof seesPupilDetails>[1],
  pupil: Record<string, unknown> | undefined,
  contacts: Record<string, unknown>[],
): {
  pupil: Record<string, unknown> | null;
  contacts: Record<string, unknown>[];
  pupilDetailsWithheld: boolean;
} {
  if (seesPupilDetails(user, v)) return { pupil: pupil ?? null, contacts, pupilDetailsWithheld: false };
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
