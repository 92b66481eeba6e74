import type { Queryable } from './db.ts';
import { type Address, formatAddress } from './visits.ts';

/** One visit as a line of the school's home-visit spreadsheet (`doorstep`'s register export). */
export interface RegisterLine {
  id: string;
  plannedFor: string;
  pupil: string;
  pupilMisId: string;
  address: string;
  reason: string;
  risk: string;
  requestedBy: string;
  authorisedBy: string | null;
  lead: string | null;
  partner: string | null;
  departedAt: Date | null;
  returnedAt: Date | null;
  status: string;
  outcome: {
    childSeen?: boolean;
    noOneHome?: boolean;
    spokeTo?: string | null;
    concerns?: string[];
    agreements?: string[];
    followUp?: { action: string; by: string; due?: string | null }[];
    /** Who was spoken to, the concerns and the follow-up withheld from the person exporting (`outcomeFor`). */
    detailsWithheld?: true;
  } | null;
  cancelReason: string | null;
  /** Whether a person is shown the pupil's details on it (`seesPupilDetails`), and its trigger's title (`visitReasonFor`). */
  leadUserId: string | null;
  partnerUserId: string | null;
  authorisedAt: Date | null;
  riskAssessedAt: Date | null;
  triggerEpisodeId: string | null;
  triggerTitle: string | undefined;
}

/**
 * A school's visits planned between two dates (inclusive), oldest first, with the names a
 * spreadsheet shows; `userId` keeps only the visits that person requested or went on.
 */
export async function registerLines(
  db: Queryable,
  schoolId: string,
  from: string,
  to: string,
  userId?: string,
): Promise<RegisterLine[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT v.id, v.planned_for::text AS planned_for, v.pupil_mis_id, v.address, v.reason, v.risk_level, v.status,
            v.departed_at, v.returned_at, v.outcome, v.cancel_reason,
            p.forename, p.surname, rq.display_name AS requested_by, au.display_name AS authorised_by,
            ld.display_name AS lead, pt.display_name AS partner,
            v.lead_user_id, v.partner_user_id, v.authorised_at, v.risk_assessed_at, v.trigger_episode_id,
            te.title AS trigger_title
     FROM visits v
       LEFT JOIN trigger_episodes te ON te.id = v.trigger_episode_id AND te.school_id = v.school_id
       LEFT JOIN pupils p ON p.school_id = v.school_id AND p.mis_id = v.pupil_mis_id
       LEFT JOIN users rq ON rq.id = v.requested_by
       LEFT JOIN users au ON au.id = v.authorised_by
       LEFT JOIN users ld ON ld.id = v.lead_user_id
       LEFT JOIN users pt ON pt.id = v.partner_user_id
     WHERE v.school_id = $1 AND v.planned_for BETWEEN $2::date AND $3::date
       AND ($4::bigint IS NULL OR $4::bigint IN (v.requested_by, v.lead_user_id, v.partner_user_id))
     ORDER BY v.planned_for, v.id`,
    [schoolId, from, to, userId ?? null],
  );
  return rows.map((r) => ({
    id: String(r.id),
    plannedFor: r.planned_for as string,
    pupil: [r.forename, r.surname].filter(Boolean).join(' ') || (r.pupil_mis_id as string),
    pupilMisId: r.pupil_mis_id as string,
    address: formatAddress(r.address as Address),
    reason: r.reason as string,
    risk: r.risk_level as string,
    requestedBy: (r.requested_by as string | null) ?? '',
    authorisedBy: (r.authorised_by as string | null) ?? null,
    lead: (r.lead as string | null) ?? null,
    partner: (r.partner as string | null) ?? null,
    departedAt: r.departed_at ? new Date(r.departed_at as string) : null,
    returnedAt: r.returned_at ? new Date(r.returned_at as string) : null,
    status: r.status as string,
    outcome: (r.outcome as RegisterLine['outcome']) ?? null,
    cancelReason: (r.cancel_reason as string | null) ?? null,
    leadUserId: r.lead_user_id === null ? null : String(r.lead_user_id),
    partnerUserId: r.partner_user_id === null ? null : String(r.partner_user_id),
    authorisedAt: r.authorised_at ? new Date(r.authorised_at as string) : null,
    riskAssessedAt: r.risk_assessed_at ? new Date(r.risk_assessed_at as string) : null,
    triggerEpisodeId: r.trigger_episode_id === null ? null : String(r.trigger_episode_id),
    triggerTitle: (r.trigger_title as string | null) ?? undefined,
  }));
}
