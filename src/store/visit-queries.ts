import { SPOKE_TO_WORKER_REASONS } from '../domain/escalation/resolution.ts';
import type { Queryable } from './db.ts';
import { type Address, formatAddress, type VisitRow } from './visits.ts';

/** What the register reads beside the visit row: who went, the day's list to sign, staff competence. */

/** The names of the people on a visit, lead first (the outcome record and the slip). */
export async function visitStaffNames(db: Queryable, v: Pick<VisitRow, 'leadUserId' | 'partnerUserId'>) {
  const ids = [v.leadUserId, v.partnerUserId].filter((x): x is string => x !== null);
  const { rows } = await db.query<{ id: string; display_name: string }>(
    'SELECT id, display_name FROM users WHERE id = ANY($1::bigint[])',
    [ids],
  );
  return ids.flatMap((id) => rows.filter((r) => String(r.id) === id).map((r) => r.display_name));
}

/**
 * The day's list of a school's visits to print and sign: pupil, address, parents and numbers,
 * attendance since 1 September (present or approved activity over possible sessions) and who
 * authorised it. Cancelled visits are left off.
 */
export async function dayList(db: Queryable, schoolId: string, date: string, yearStart: string) {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT v.id, v.reason, v.address, v.authorisation_note, au.display_name AS authorised_by,
            p.forename, p.surname, p.year_group,
            (SELECT string_agg(c.name || coalesce(' (' || c.relationship || ')', '') || coalesce(' ' || c.phone, ''), '; ' ORDER BY c.priority)
               FROM pupil_contacts c WHERE c.school_id = v.school_id AND c.pupil_mis_id = v.pupil_mis_id) AS contacts,
            (SELECT round(100.0 * count(*) FILTER (WHERE m.category IN ('present', 'approved_activity'))
                      / nullif(count(*) FILTER (WHERE m.category <> 'not_possible'), 0), 1)
               FROM attendance_marks m WHERE m.school_id = v.school_id AND m.pupil_mis_id = v.pupil_mis_id
                AND m.date >= $3::date) AS attendance
     FROM visits v
       LEFT JOIN pupils p ON p.school_id = v.school_id AND p.mis_id = v.pupil_mis_id
       LEFT JOIN users au ON au.id = v.authorised_by
     WHERE v.school_id = $1 AND v.planned_for = $2::date AND v.status <> 'cancelled' ORDER BY v.id`,
    [schoolId, date, yearStart],
  );
  return rows.map((r) => ({
    pupil: [r.forename, r.surname].filter(Boolean).join(' '),
    yearGroup: (r.year_group as string | null) ?? '',
    address: formatAddress(r.address as Address),
    contacts: (r.contacts as string | null) ?? '',
    attendancePercent: r.attendance === null ? null : Number(r.attendance),
    reason: r.reason as string,
    authorisedBy: (r.authorised_by as string | null) ?? null,
    authorisationNote: (r.authorisation_note as string | null) ?? null,
  }));
}

/**
 * Training records, home visits already made (went and came back), and another visit each is out on
 * now, for the staff going on a visit (in the order given).
 * Experience recorded on an account counts only when no one going on this visit recorded it: a
 * first visit needs someone experienced by another's word, never by the word of the people going.
 */
export async function staffCompetence(db: Queryable, userIds: readonly string[], exceptVisitId: string) {
  const { rows } = await db.query<{
    id: string;
    home: Date | null;
    safeguarding: Date | null;
    experienced: boolean;
    made: number;
    out_on: string | null;
  }>(
    `SELECT u.id, u.home_visit_trained_on AS home, u.safeguarding_trained_on AS safeguarding,
            (u.home_visit_experienced_on IS NOT NULL
              AND (u.home_visit_experience_recorded_by IS NULL
                   OR NOT u.home_visit_experience_recorded_by = ANY($1::bigint[]))) AS experienced,
            (SELECT count(*)::int FROM visits v WHERE v.id <> $2 AND v.returned_at IS NOT NULL
               AND (v.lead_user_id = u.id OR v.partner_user_id = u.id)) AS made,
            (SELECT min(v.id) FROM visits v WHERE v.id <> $2 AND v.departed_at IS NOT NULL
               AND v.returned_at IS NULL AND (v.lead_user_id = u.id OR v.partner_user_id = u.id)) AS out_on
     FROM users u WHERE u.id = ANY($1::bigint[])`,
    [[...userIds], exceptVisitId],
  );
  return userIds.map((id) => {
    const r = rows.find((x) => String(x.id) === id);
    return {
      homeVisitTrained: Boolean(r?.home),
      safeguardingTrained: Boolean(r?.safeguarding),
      visitsMade: r?.made ?? 0,
      experienced: r?.experienced === true,
      outOnVisit: r?.out_on == null ? null : String(r.out_on),
    };
  });
}

/**
 * Whether fob `deviceId` is out with another visit (departed, not back safe) than `visitId`, at one of
 * `schoolIds` — the departure's school and the others whose feeds may bring the same fob's events
 * (src/config/fob-vendors.ts) — one led by someone other than `leadUserId` (a trip's visits —
 * siblings at one address — share their lead and so the fob). Out with it: the fob it left with, or
 * another device recorded for it when it left (the lead's, `fob_device_ids` — a spare, an app — or the
 * partner's, `partner_fob_device_ids`, unless that partner leads this visit: two workers who swap
 * roles between visits, the first not yet back safe, each lead with their own fob — it is held then,
 * and held wins). Its events arriving there would be that visit's (the fob it
 * left with, over the registry: migration 078; a device it recorded, by the visit watcher), never this
 * one's. With `hold` (in
 * the departure's transaction) the fob's lock — one per device id, whatever the school — is taken
 * first and held to commit: two departures with one fob at the same moment, at one school or two, are
 * never two visits out holding it.
 */
export async function fobOutWithAnotherVisit(
  db: Queryable,
  q: {
    schoolIds: readonly string[];
    deviceId: string;
    visitId: string;
    leadUserId: string;
    hold: boolean;
  },
): Promise<boolean> {
  if (q.hold)
    await db.query(`SELECT pg_advisory_xact_lock(hashtext('doorstep:fob-out:' || $1))`, [q.deviceId]);
  const { rows } = await db.query<{ out: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM visits v WHERE v.school_id = ANY($1::text[])
       AND ((v.fob_device_id = $2 OR $2 = ANY(v.fob_device_ids)) AND v.lead_user_id IS DISTINCT FROM $4::bigint
         OR $2 = ANY(v.partner_fob_device_ids) AND v.lead_user_id IS DISTINCT FROM $4::bigint
           AND v.partner_user_id IS DISTINCT FROM $4::bigint)
       AND v.id <> $3 AND v.departed_at IS NOT NULL AND v.returned_at IS NULL) AS out`,
    [[...q.schoolIds], q.deviceId, q.visitId, q.leadUserId],
  );
  return rows[0]?.out === true;
}

/** Visits of a school asked for and not yet authorised (any planned day), soonest first: the board lists them. */
export async function visitsAwaitingAuthorisation(db: Queryable, schoolId: string) {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT v.id, v.pupil_mis_id, v.reason, to_char(v.planned_for, 'YYYY-MM-DD') AS planned_for, v.requested_at,
            p.forename, p.surname
     FROM visits v LEFT JOIN pupils p ON p.school_id = v.school_id AND p.mis_id = v.pupil_mis_id
     WHERE v.school_id = $1 AND v.status = 'requested' ORDER BY v.planned_for, v.id LIMIT 100`,
    [schoolId],
  );
  return rows.map((r) => ({
    visitId: String(r.id),
    pupilMisId: r.pupil_mis_id as string,
    pupilName: [r.forename, r.surname].filter(Boolean).join(' ') || null,
    reason: r.reason as string,
    plannedFor: r.planned_for as string,
    requestedAt: new Date(r.requested_at as string).toISOString(),
  }));
}

/**
 * The last time a person other than the worker (the visit's lead or partner) confirmed them while
 * out on this visit, from what is kept (runningLateProblem): the departure; a new return time someone
 * else set (`visit_return_changes.by_user_id`, `source` 'set': running late, "I am still out"); a
 * check-in the office recorded for them (`visit_check_ins.source` 'office', by someone not on the
 * visit); the arrival, when someone else recorded it (its audit entry's actor); one of the visit's
 * alarms (an overdue, a missed check-in) resolved by someone else with a reason that says they spoke
 * to the worker (`SPOKE_TO_WORKER_REASONS`: "the office spoke to them", from the board or an SMS
 * reply). What the watch re-arms after a resolution — the check-in clock (`source` 'resolution'), an
 * overdue's 15 minutes — counts only through that resolution: never for a false alarm, a test or an
 * incident, nor when the lead or partner resolved it (whatever other role they hold).
 * Null when the visit has not left.
 */
export async function lastConfirmedByOthers(db: Queryable, visitId: string): Promise<Date | null> {
  const [at] = (await lastConfirmedByOthersOf(db, [visitId])).values();
  return at ?? null;
}

/** `lastConfirmedByOthers` of each of these visits that has left, by visit id (a page of the register). */
export async function lastConfirmedByOthersOf(
  db: Queryable,
  visitIds: readonly string[],
): Promise<Map<string, Date>> {
  if (visitIds.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; at: Date | string | null }>(
    `SELECT v.id::text AS id, GREATEST(
       v.departed_at,
       (SELECT max(c.at) FROM visit_return_changes c WHERE c.visit_id = v.id AND c.source = 'set'
          AND c.by_user_id IS DISTINCT FROM v.lead_user_id AND c.by_user_id IS DISTINCT FROM v.partner_user_id),
       (SELECT max(k.at) FROM visit_check_ins k WHERE k.visit_id = v.id AND k.source = 'office'
          AND k.by_user_id IS NOT NULL
          AND k.by_user_id IS DISTINCT FROM v.lead_user_id AND k.by_user_id IS DISTINCT FROM v.partner_user_id),
       CASE WHEN EXISTS (SELECT 1 FROM audit_entries a
                          WHERE a.entity_type = 'visit' AND a.entity_id = v.id::text AND a.action = 'visit.arrived'
                            AND a.actor IS DISTINCT FROM 'user:' || v.lead_user_id
                            AND a.actor IS DISTINCT FROM 'user:' || v.partner_user_id)
            THEN v.arrived_at END,
       (SELECT max(a.resolved_at) FROM alarms a WHERE a.visit_id = v.id
          AND a.resolution_reason = ANY($2::text[])
          AND a.resolved_by IS DISTINCT FROM 'user:' || v.lead_user_id
          AND a.resolved_by IS DISTINCT FROM 'user:' || v.partner_user_id)) AS at
     FROM visits v WHERE v.id = ANY($1::bigint[]) AND v.departed_at IS NOT NULL`,
    [[...visitIds], SPOKE_TO_WORKER_REASONS],
  );
  return new Map(rows.filter((r) => r.at).map((r) => [r.id, new Date(r.at as Date | string)]));
}
