import { londonDate } from '../domain/attendance/dates.ts';
import { doorWaitMinutes } from '../domain/visits/appointment.ts';
import {
  isOut,
  type LifecycleVisit,
  RESUME_WATCH_MINUTES,
  type VisitStatus,
} from '../domain/visits/lifecycle.ts';
import { ownReturnTimeClosed } from '../domain/visits/return-time.ts';
import type { Queryable } from './db.ts';

export type { VisitStatus };

export interface Address {
  line1?: string | null;
  line2?: string | null;
  town?: string | null;
  postcode?: string | null;
}

export interface VisitRow {
  id: string;
  /**
   * When the row last changed (`updated_at`, ms since the epoch, as text): a page that acts on the
   * visits it showed sends it back, and a visit changed since is not acted on.
   */
  version?: string;
  schoolId: string;
  pupilMisId: string;
  triggerEpisodeId: string | null;
  reason: string;
  address: Address;
  plannedFor: string;
  riskNotes: string | null;
  riskLevel: 'low' | 'minor' | 'major';
  status: VisitStatus;
  requestedBy: string;
  requestedAt: Date;
  authorisedBy: string | null;
  authorisedAt: Date | null;
  authorisationNote: string | null;
  outOfHoursApproved: boolean;
  leadUserId: string | null;
  partnerUserId: string | null;
  departedAt: Date | null;
  /** The arrival time the worker estimated when leaving (told to the office; null: not given). */
  estimatedArrivalAt: Date | null;
  expectedReturnAt: Date | null;
  checkInMinutes: number | null;
  safeWord: string | null;
  lastCheckInAt: Date | null;
  returnedAt: Date | null;
  /** Who said back safe (`user:<id>`), while the visit is back (null: out, or not left). */
  backSafeBy: string | null;
  outcome: Record<string, unknown> | null;
  completedAt: Date | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
  arrivedAt: Date | null;
  /**
   * Thames View 3.5: when the parent/carer's notice that they are running late was recorded, and by
   * whom (`user:<id>`: one of the people on the visit, or the office who took the call); null: none.
   */
  parentLateNoticeAt: Date | null;
  parentLateNoticeBy: string | null;
  workerPhone: string | null;
  vehicle: Vehicle | null;
  fobDeviceId: string | null;
  followUpDoneAt: Date | null;
  riskAssessedBy: string | null;
  riskAssessedAt: Date | null;
  /** The address flags the assessment was made with (null: assessed before these were kept). */
  riskAssessedFlags: string[] | null;
  riskReason: string | null;
  familyNotice: FamilyNotice | null;
  /** The appointment's time (Thames View 2.7), when one was made. */
  appointmentAt: Date | null;
  /** How many appointment records were written for it (0: none yet). */
  appointmentRecords: number;
  /** The visit whose broken agreement asked for this one (Thames View 4.3), if any. */
  followsVisitId: string | null;
  /** Made on the way to work (from home) or on the way home from work; null: from school and back. */
  commute: Commute | null;
  /** Who approved the commute visit beforehand, and when (null: not approved). */
  commuteApprovedBy: string | null;
  commuteApprovedAt: Date | null;
}

export const COMMUTES = ['to-work', 'from-work'] as const;
export type Commute = (typeof COMMUTES)[number];

/** How the family was told of the visit before it, or the exemption that applied. */
export interface FamilyNotice {
  method: string | null;
  exemption: string | null;
  note: string | null;
  at: string;
  by: string;
  /** The notice Doorstep sent for a text (its id), when the method was `sms`. */
  noticeId?: string | null;
  /** Who sent a text (method `sms`): Doorstep through the school's SMS channel, or staff from a school phone. */
  sentBy?: 'doorstep' | 'staff';
}

export interface Vehicle {
  make: string;
  model: string;
  registration: string;
  colour: string;
  /**
   * Thames View 2.9 "All vehicles must have the required up-to-date insurance": the worker confirmed
   * it when leaving (business use; absent on vehicles recorded before it was asked).
   */
  insuranceConfirmed?: boolean;
}

const date = (v: unknown) => (v ? new Date(v as string) : null);
const id = (v: unknown) => (v === null || v === undefined ? null : String(v));

export function toVisit(r: Record<string, unknown>): VisitRow {
  const planned = r.planned_for;
  return {
    id: String(r.id),
    ...(r.updated_at == null ? {} : { version: String(new Date(r.updated_at as string).getTime()) }),
    schoolId: r.school_id as string,
    pupilMisId: r.pupil_mis_id as string,
    triggerEpisodeId: id(r.trigger_episode_id),
    reason: r.reason as string,
    address: r.address as Address,
    plannedFor:
      planned instanceof Date
        ? `${planned.getFullYear()}-${String(planned.getMonth() + 1).padStart(2, '0')}-${String(planned.getDate()).padStart(2, '0')}`
        : String(planned).slice(0, 10),
    riskNotes: (r.risk_notes as string | null) ?? null,
    riskLevel: r.risk_level as VisitRow['riskLevel'],
    status: r.status as VisitStatus,
    requestedBy: String(r.requested_by),
    requestedAt: new Date(r.requested_at as string),
    authorisedBy: id(r.authorised_by),
    authorisedAt: date(r.authorised_at),
    authorisationNote: (r.authorisation_note as string | null) ?? null,
    outOfHoursApproved: Boolean(r.out_of_hours_approved),
    leadUserId: id(r.lead_user_id),
    partnerUserId: id(r.partner_user_id),
    departedAt: date(r.departed_at),
    estimatedArrivalAt: date(r.estimated_arrival_at),
    expectedReturnAt: date(r.expected_return_at),
    checkInMinutes: (r.check_in_minutes as number | null) ?? null,
    safeWord: (r.safe_word as string | null) ?? null,
    lastCheckInAt: date(r.last_check_in_at),
    returnedAt: date(r.returned_at),
    backSafeBy: (r.back_safe_by as string | null) ?? null,
    outcome: (r.outcome as Record<string, unknown> | null) ?? null,
    completedAt: date(r.completed_at),
    cancelledAt: date(r.cancelled_at),
    cancelReason: (r.cancel_reason as string | null) ?? null,
    arrivedAt: date(r.arrived_at),
    parentLateNoticeAt: date(r.parent_late_notice_at),
    parentLateNoticeBy: (r.parent_late_notice_by as string | null) ?? null,
    workerPhone: (r.worker_phone as string | null) ?? null,
    vehicle: (r.vehicle as Vehicle | null) ?? null,
    fobDeviceId: (r.fob_device_id as string | null) ?? null,
    followUpDoneAt: date(r.follow_up_done_at),
    riskAssessedBy: (r.risk_assessed_by as string | null) ?? null,
    riskAssessedAt: date(r.risk_assessed_at),
    riskAssessedFlags: r.risk_assessed_flags ? (r.risk_assessed_flags as unknown[]).map(String) : null,
    riskReason: (r.risk_reason as string | null) ?? null,
    familyNotice: (r.family_notice as FamilyNotice | null) ?? null,
    appointmentAt: date(r.appointment_at),
    appointmentRecords: Number(r.appointment_records ?? 0),
    followsVisitId: id(r.follows_visit_id),
    commute: (r.commute as Commute | null) ?? null,
    commuteApprovedBy: id(r.commute_approved_by),
    commuteApprovedAt: date(r.commute_approved_at),
  };
}

/**
 * The visit as the lifecycle sees it at `now` (the wait at the door is counted to then).
 * `confirmedByOthersAt`: the last time someone other than the people on the visit confirmed them
 * (lastConfirmedByOthers; null: none kept, the departure counts), for whether their own new return
 * time is closed — what the pages are offered. Not given (the commands, deciding one step): taken as
 * open, and running late itself refuses a time past the bound, naming the office's number
 * (runningLateProblem).
 */
export function lifecycleOf(v: VisitRow, now: Date, confirmedByOthersAt?: Date | null): LifecycleVisit {
  return {
    status: v.status,
    leadUserId: v.leadUserId,
    partnerUserId: v.partnerUserId,
    requestedBy: v.requestedBy,
    departedAt: v.departedAt,
    returnedAt: v.returnedAt,
    arrivedAt: v.arrivedAt,
    outcomeRecorded: v.outcome !== null,
    childSeen: v.outcome ? Boolean(v.outcome.childSeen) : null,
    followUpDone: v.followUpDoneAt !== null,
    hasSafeWord: v.safeWord !== null,
    agreements: Array.isArray(v.outcome?.agreements) ? v.outcome.agreements.length : 0,
    doorWaitMinutes: doorWaitMinutes(v.arrivedAt, v.appointmentAt, now),
    parentSaidLate: v.parentLateNoticeAt !== null,
    commute: v.commute !== null,
    commuteApproved: v.commuteApprovedAt !== null,
    outOfHoursApproved: v.outOfHoursApproved,
    dayPassed: v.plannedFor < londonDate(now),
    plannedToday: v.plannedFor === londonDate(now),
    recentlyBack:
      v.returnedAt !== null && now.getTime() - v.returnedAt.getTime() < RESUME_WATCH_MINUTES * 60_000,
    ownReturnTimeClosed:
      isOut(v) &&
      confirmedByOthersAt !== undefined &&
      ownReturnTimeClosed(confirmedByOthersAt ?? v.departedAt ?? now, now),
  };
}

/** The visit, locked for the rest of the transaction (every state change goes through this). */
export async function lockVisit(tx: Queryable, visitId: string): Promise<VisitRow | undefined> {
  const { rows } = await tx.query('SELECT * FROM visits WHERE id = $1 FOR UPDATE', [visitId]);
  return rows[0] ? toVisit(rows[0]) : undefined;
}

/** Those of `ids` that are visits of the school planned for `date`, locked in id order. */
export async function lockVisitsOfDay(
  tx: Queryable,
  schoolId: string,
  date: string,
  ids: readonly string[],
): Promise<VisitRow[]> {
  if (!ids.length) return [];
  const { rows } = await tx.query(
    `SELECT * FROM visits WHERE school_id = $1 AND planned_for = $2::date AND id = ANY($3::bigint[])
     ORDER BY id FOR UPDATE`,
    [schoolId, date, [...ids]],
  );
  return rows.map(toVisit);
}

export async function getVisit(db: Queryable, visitId: string): Promise<VisitRow | undefined> {
  const { rows } = await db.query('SELECT * FROM visits WHERE id = $1', [visitId]);
  return rows[0] ? toVisit(rows[0]) : undefined;
}

export async function visitsOfSchool(
  db: Queryable,
  schoolId: string,
  filter: {
    date?: string;
    statuses?: readonly VisitStatus[];
    /** Only the visits this person leads, goes on or asked for… */
    userId?: string;
    /** …and those not yet left that nobody leads (visiting staff may take them). */
    orUnled?: boolean;
  },
): Promise<VisitRow[]> {
  const { rows } = await db.query(
    `SELECT * FROM visits WHERE school_id = $1
       -- Other days' visits: those whose worker is out (also one called off at the door, still
       -- watched until back safe) and those back with no outcome yet.
       AND ($2::date IS NULL OR planned_for = $2::date OR status = 'returned'
            OR (departed_at IS NOT NULL AND returned_at IS NULL))
       AND ($3::text[] IS NULL OR status = ANY($3::text[]))
       AND ($4::bigint IS NULL OR lead_user_id = $4 OR partner_user_id = $4 OR requested_by = $4
            OR ($5 AND lead_user_id IS NULL AND status IN ('requested', 'authorised')))
     ORDER BY planned_for, id`,
    [
      schoolId,
      filter.date ?? null,
      filter.statuses ? [...filter.statuses] : null,
      filter.userId ?? null,
      filter.orUnled === true,
    ],
  );
  return rows.map(toVisit);
}

export async function checkInsOf(db: Queryable, visitId: string) {
  const { rows } = await db.query<{ at: Date; source: string; by_user_id: string | null }>(
    'SELECT at, source, by_user_id FROM visit_check_ins WHERE visit_id = $1 ORDER BY at',
    [visitId],
  );
  return rows.map((r) => ({ at: new Date(r.at), source: r.source, byUserId: id(r.by_user_id) }));
}

export function formatAddress(a: Address): string {
  return [a.line1, a.line2, a.town, a.postcode].filter((x) => x && String(x).trim()).join(', ');
}

/** The visit `userId` is out on now (departed, not back), other than `except`, if any. */
export async function otherVisitOut(db: Queryable, userId: string, except: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM visits WHERE departed_at IS NOT NULL AND returned_at IS NULL AND id <> $2
       AND (lead_user_id = $1 OR partner_user_id = $1)
     ORDER BY departed_at DESC LIMIT 1`,
    [userId, except],
  );
  return rows[0] ? String(rows[0].id) : null;
}
