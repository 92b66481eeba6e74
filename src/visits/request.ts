import { londonClock, londonDate } from '../domain/attendance/dates.ts';
import { VISIT_ACTIONS } from '../domain/triggers/actions.ts';
import { londonInstant } from '../domain/visits/appointment.ts';
import { decide } from '../domain/visits/lifecycle.ts';
import { plannedDayProblem } from '../domain/visits/planned-day.ts';
import { mayAssessRisk, mayAuthorise, type RiskLevel } from '../domain/visits/rules.ts';
import { doorstepError } from '../errors.ts';
import { queueAfterCommit } from '../queue/after-commit.ts';
import { addressFlagsFor } from '../store/address-flags.ts';
import { appendAudit } from '../store/audit.ts';
import { insertBoardEvent } from '../store/board.ts';
import type { Queryable } from '../store/db.ts';
import { insertNotices } from '../store/notices.ts';
import { pupilHomeAddress } from '../store/pupils.ts';
import { episodeForVisit, openVisitTriggerOf } from '../store/triggers.ts';
import type { User } from '../store/users.ts';
import { authoriseListed, insertVisit, markAuthorised, setRiskAssessment } from '../store/visit-changes.ts';
import {
  type Address,
  type Commute,
  formatAddress,
  lifecycleOf,
  lockVisit,
  lockVisitsOfDay,
  type VisitRow,
} from '../store/visits.ts';
import { actorOf, assertSchool, knownSchool } from './access.ts';
import { writeAppointmentRecord } from './appointment.ts';
import { audit, change, must, mustLock, sameInstant, type VisitDeps } from './change.ts';
import { confirmClosedDay } from './closed-day.ts';
import { visitPlannedNotice } from './planned-notice.ts';
import { pupilInitials, sendNotices } from './visit-notices.ts';
/** Before anyone leaves: a visit asked for, its risk assessed, authorised one by one or on the day's list. */

export interface VisitRequest {
  schoolId: string;
  pupilMisId?: string | undefined;
  triggerEpisodeId?: string | undefined;
  reason?: string | undefined;
  plannedFor?: string | undefined;
  address?: Address | undefined;
  riskLevel?: 'low' | 'minor' | 'major' | undefined;
  riskNotes?: string | undefined;
  /**
   * Who will go: absent, the requester when they are visiting staff (else nobody yet); null, nobody
   * yet — whoever goes takes it (a member of visiting staff asking for a visit they are not going on).
   */
  leadUserId?: string | null | undefined;
  /** The appointment's time on the planned date, HH:MM in Europe/London (Thames View 2.6/2.7). */
  appointmentTime?: string | undefined;
  /** Made on the way to work (from home) or home from work; absent: from school and back. */
  commute?: Commute | undefined;
  /**
   * A day the school is closed: false (a person's form, asking) refuses it with 409 until they
   * confirm it (`confirmClosedDay`); true: confirmed. Absent: not asked (an API client, the
   * register's own requests).
   */
  closedDayConfirmed?: boolean | undefined;
}

/** A visit asked for, from a trigger (pupil and reason from it) or by hand; the address from the MIS unless given. */
export async function requestVisit(deps: VisitDeps, user: User, r: VisitRequest): Promise<string> {
  knownSchool(deps.config, r.schoolId);
  assertSchool(user, r.schoolId);
  const { id, recorded, notices } = await change(deps, async (tx, events) => {
    let pupil = r.pupilMisId;
    let reason = r.reason?.trim();
    let trigger = r.triggerEpisodeId ?? null;
    if (r.triggerEpisodeId) {
      const episode = await episodeForVisit(tx, r.schoolId, r.triggerEpisodeId);
      if (!episode) throw doorstepError('NOT_FOUND', `no trigger ${r.triggerEpisodeId} at ${r.schoolId}`);
      if (r.pupilMisId && r.pupilMisId !== episode.pupil_mis_id)
        throw doorstepError(
          'BAD_REQUEST',
          `pupilMisId: trigger ${r.triggerEpisodeId} is about another pupil (give one or the other)`,
        );
      // Two people asking from the same card: the second is sent to the first's visit, not a second one.
      if (episode.visit_id)
        throw doorstepError(
          'CONFLICT',
          `visit ${episode.visit_id} was already asked for from this trigger: open it (or cancel it first)`,
        );
      if (episode.status !== 'open')
        throw doorstepError(
          'CONFLICT',
          `this trigger closed on ${episode.closed_on}: its condition ended (the pupil is back, say); ask for a visit by hand if one is still needed`,
        );
      pupil = episode.pupil_mis_id;
      reason ||= episode.title;
    }
    if (!pupil) throw doorstepError('BAD_REQUEST', 'pupilMisId: expected the pupil (or a triggerEpisodeId)');
    // Asked for by hand for a pupil with an open trigger for a visit that has none: that trigger's
    // visit (it leaves the board's waiting list; nobody asks for a second visit from its card).
    trigger ??= (await openVisitTriggerOf(tx, r.schoolId, pupil, VISIT_ACTIONS)) ?? null;
    if (!reason) throw doorstepError('BAD_REQUEST', 'reason: expected why the visit is needed');
    const home = await pupilHomeAddress(tx, r.schoolId, pupil);
    if (!home) throw doorstepError('NOT_FOUND', `pupilMisId: no pupil "${pupil}" at ${r.schoolId}`);
    const address = r.address ?? home.address ?? {};
    if (!formatAddress(address))
      throw doorstepError('BAD_REQUEST', 'address: the MIS has no address for this pupil; type one in');
    const plannedFor = r.plannedFor ?? londonDate(deps.now());
    const dayProblem = plannedDayProblem(plannedFor, londonDate(deps.now()));
    if (dayProblem) throw doorstepError('BAD_REQUEST', `plannedFor: ${dayProblem}`);
    if (r.closedDayConfirmed !== undefined)
      confirmClosedDay(knownSchool(deps.config, r.schoolId), plannedFor, 'plannedFor', r.closedDayConfirmed);
    const appointmentAt = r.appointmentTime ? londonInstant(plannedFor, r.appointmentTime) : null;
    if (r.appointmentTime && !appointmentAt)
      throw doorstepError(
        'BAD_REQUEST',
        `appointmentTime: ${r.appointmentTime} does not happen on ${plannedFor} in London (the clocks go forward)`,
      );
    const lead =
      r.leadUserId === undefined ? (user.roles.includes('visiting-staff') ? user.id : null) : r.leadUserId;
    // A visit on the way to or from work is its lead's own journey (Hampton: approved beforehand by
    // the HoS): whose journey is known before anyone approves it, and cannot change after (departure
    // keeps a visit's lead).
    if (r.commute && lead === null)
      throw doorstepError(
        'BAD_REQUEST',
        "commute: a visit on the way to or from work is its lead's own journey: it is asked for by the member of visiting staff going (nobody would lead this one)",
      );
    const id = await insertVisit(tx, {
      schoolId: r.schoolId,
      pupilMisId: pupil,
      triggerEpisodeId: trigger,
      reason,
      address,
      plannedFor,
      appointmentAt,
      riskLevel: r.riskLevel ?? 'low',
      riskNotes: r.riskNotes?.trim() || null,
      requestedBy: user.id,
      leadUserId: lead,
      commute: r.commute ?? null,
    });
    const rules = deps.rulesFor(r.schoolId);
    // Where the pack assesses risk at the request, an assessor asking for the visit assesses it.
    if (
      r.riskLevel &&
      rules.risk.at === 'request' &&
      mayAssessRisk(rules, [...user.roles, ...user.positions])
    )
      await setRiskAssessment(tx, id, {
        level: r.riskLevel,
        by: `user:${user.id}`,
        at: deps.now(),
        reason: r.riskNotes?.trim() || 'assessed when asking for the visit',
        flagIds: (await addressFlagsFor(tx, r.schoolId, address)).map((f) => f.id),
      });
    const v = (await lockVisit(tx, id))!;
    await audit(tx, user, 'visit.requested', v, null, {
      status: 'requested',
      pupil,
      trigger,
      plannedFor: v.plannedFor,
      riskLevel: v.riskLevel,
      appointmentAt: v.appointmentAt?.toISOString() ?? null,
      commute: v.commute,
    });
    // A pack needing no authorisation: a visit asked for with its time is booked (2.7's record).
    const recorded = await writeAppointmentRecord(tx, deps, v, 'booked');
    events.push(await insertBoardEvent(tx, r.schoolId, 'visit.requested', { visitId: id }));
    return {
      id,
      recorded,
      notices: [
        ...(await awaitingAuthorisationNotice(tx, deps, v)),
        // Whether or not it needs authorising: the people named hear of its day and time (Hampton).
        ...(await visitPlannedNotice(tx, deps, user, v, { step: 'requested' })),
      ],
    };
  });
  await sendNotices(deps.producer, notices);
  if (recorded)
    await queueAfterCommit(() => deps.producer?.enqueue('relay-outbox', { reason: 'after-write' }));
  return id;
}

/**
 * A visit that needs authorisation: the people the school names (`notices.awaitingAuthorisation`,
 * e.g. the DSL) are told at once, with the visit number and the pupil's initials only; the visit page
 * holds the evidence. Once per visit.
 */
async function awaitingAuthorisationNotice(tx: Queryable, deps: VisitDeps, v: VisitRow): Promise<string[]> {
  const rules = deps.rulesFor(v.schoolId);
  if (!rules.authorisation.required || v.status !== 'requested') return [];
  const school = knownSchool(deps.config, v.schoolId);
  const initials = await pupilInitials(tx, v.schoolId, v.pupilMisId);
  const by = rules.authorisation.by.join(' or ') || 'the safeguarding team';
  return insertNotices(tx, {
    schoolId: school.id,
    kind: 'awaiting-authorisation',
    visitId: v.id,
    targets: school.notices.awaitingAuthorisation,
    subject: `home visit #${v.id} waits for authorisation`,
    text: `Home visit #${v.id}${initials ? ` (pupil ${initials})` : ''} planned for ${v.plannedFor} waits for authorisation by ${by}${rules.authorisation.mode === 'daily-list' ? " (on the day's list)" : ''}. Open the visit in Doorstep to see the evidence and authorise it.`,
  });
}

export interface RiskAssessment {
  level: RiskLevel;
  reason: string;
  /**
   * The address flags the assessor was shown (the page sends the ones it lists): a flag recorded
   * since then refuses the assessment, so it is read before the risk is judged. Absent (an API
   * client): the flags there are now.
   */
  flagsSeen?: readonly string[] | undefined;
  /**
   * When the assessment the assessor was shown was made (null: none yet): a reassessment says which
   * assessment it replaces, and one made since refuses it (409) — never one assessor's word silently
   * overwriting another's. Absent (an API client): it replaces whatever there is.
   */
  replaces?: string | null | undefined;
}

/**
 * An assessor the pack names sets (raises or lowers) the visit's risk level, with a reason: audited
 * with the level before and after. Until then the requester's level is a proposal.
 */
export async function assessRisk(
  deps: VisitDeps,
  user: User,
  visitId: string,
  risk: RiskAssessment,
): Promise<void> {
  if (!risk.reason.trim())
    throw doorstepError('BAD_REQUEST', 'reason: expected why the risk is at this level');
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    must(deps, user, v, 'assess-risk');
    await recordRisk(deps, tx, user, v, risk);
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.risk-assessed', { visitId }));
  });
}

async function recordRisk(deps: VisitDeps, tx: Queryable, user: User, v: VisitRow, risk: RiskAssessment) {
  if (risk.replaces !== undefined && !sameInstant(risk.replaces, v.riskAssessedAt))
    throw doorstepError(
      'CONFLICT',
      v.riskAssessedAt
        ? `the risk was assessed since this page was read (${v.riskLevel.toUpperCase()} at ${londonClock(v.riskAssessedAt)} on ${londonDate(v.riskAssessedAt)}): read it — a new assessment replaces it`
        : 'the risk assessment this page showed was withdrawn since (the visit changed): read the visit again',
    );
  // The assessment is made with the flags there are: one recorded later (even one whose own
  // transaction has not committed yet) is not among them, so departure asks for it to be amended.
  const flags = await addressFlagsFor(tx, v.schoolId, v.address);
  if (risk.flagsSeen) {
    const seen = new Set(risk.flagsSeen);
    const unseen = flags.filter((f) => !seen.has(f.id));
    if (unseen.length > 0)
      throw doorstepError(
        'CONFLICT',
        `the address was flagged since the page was opened (${unseen.map((f) => `${f.level.toUpperCase()} by ${f.createdBy}`).join('; ')}): read the flag and assess the risk again`,
      );
  }
  await setRiskAssessment(tx, v.id, {
    level: risk.level,
    by: `user:${user.id}`,
    at: deps.now(),
    reason: risk.reason.trim(),
    flagIds: flags.map((f) => f.id),
  });
  await audit(
    tx,
    user,
    'visit.risk-assessed',
    v,
    // What it replaces, whole: the level, why, by whom and when (the visit keeps only the latest).
    {
      riskLevel: v.riskLevel,
      assessed: v.riskAssessedAt !== null,
      ...(v.riskAssessedAt
        ? { reason: v.riskReason, by: v.riskAssessedBy, at: v.riskAssessedAt.toISOString() }
        : {}),
    },
    { riskLevel: risk.level, reason: risk.reason.trim(), addressFlags: flags.map((f) => f.id) },
  );
}

/**
 * One visit authorised by a person the school's policy names. Where the pack assesses risk at
 * authorisation, the authoriser gives the level (and must be an assessor) unless it was assessed.
 */
export async function authoriseVisit(
  deps: VisitDeps,
  user: User,
  visitId: string,
  note?: string,
  outOfHours = false,
  risk?: RiskAssessment,
): Promise<void> {
  await change(
    deps,
    async (tx, events) => {
      const v = await mustLock(tx, visitId);
      assertSchool(user, v.schoolId);
      const rules = deps.rulesFor(v.schoolId);
      if (outOfHours && !(rules.hours?.approvable || rules.hours?.mode === 'recommend'))
        throw doorstepError('POLICY', "the school's policy allows no visits outside its hours");
      // Approved outside the hours with why, as the separate approval asks (King's "exceptional
      // circumstances"): the reason is kept with the authorisation in the audit.
      if (outOfHours && !note?.trim())
        throw doorstepError('BAD_REQUEST', 'note: say why the visit is approved outside the hours');
      if (rules.authorisation.mode === 'daily-list')
        throw doorstepError(
          'POLICY',
          "the school's policy says the day's list is signed as a whole: sign the list",
        );
      if (v.status === 'requested' && !mayAuthorise(rules, [...user.roles, ...user.positions]))
        throw doorstepError(
          'FORBIDDEN',
          `the school's policy says visits are authorised by ${rules.authorisation.by.join(' or ') || 'the safeguarding team'}`,
        );
      // (A visit whose day has passed: the lifecycle refuses it, saying to move it first.)
      must(deps, user, v, 'authorise');
      if (risk) {
        if (!mayAssessRisk(rules, [...user.roles, ...user.positions]))
          throw doorstepError('FORBIDDEN', `the risk is assessed by ${rules.risk.assessedBy.join(' or ')}`);
        if (!risk.reason.trim())
          throw doorstepError('BAD_REQUEST', 'reason: expected why the risk is at this level');
        await recordRisk(deps, tx, user, v, risk);
      } else if (rules.risk.at === 'authorisation' && !v.riskAssessedAt)
        throw doorstepError('POLICY', 'assess the risk when authorising: give its level and why');
      await markAuthorised(tx, visitId, {
        by: user.id,
        at: deps.now(),
        note: note?.trim() || null,
        outOfHours,
      });
      await audit(
        tx,
        user,
        'visit.authorised',
        v,
        { status: v.status },
        { status: 'authorised', note: note ?? null, outOfHours },
      );
      await writeAppointmentRecord(tx, deps, { ...v, status: 'authorised' }, 'booked');
      events.push(await insertBoardEvent(tx, v.schoolId, 'visit.authorised', { visitId }));
    },
    { relayOutbox: true },
  );
}

/** A day's list whose day has passed is not signed: none of its visits could leave. */
function refusePassedDay(deps: VisitDeps, date: string): void {
  const today = londonDate(deps.now());
  if (date < today)
    throw doorstepError(
      'POLICY',
      `the list of ${date} has passed (today is ${today}): its visits are moved to a new day first`,
    );
}

/** What signing the day's list did: the visits authorised, and those left as they were, with why. */
export interface SignedList {
  authorised: string[];
  skipped: { id: string; why: string }[];
}

/**
 * The day's list signed (Thames View: by the Headteacher). Only the visits the signer was shown
 * (`listed`, from the page they signed: each id with the version the page showed, which must still
 * be the visit's; a bare id is not checked) are authorised, and of those only the ones the lifecycle
 * lets this signer sign now — never their own request unless the pack allows it; a visit asked for
 * after their page loaded is not on their list. The rest are skipped and reported, with why.
 */
export async function signDayList(
  deps: VisitDeps,
  user: User,
  schoolId: string,
  date: string,
  listed: readonly (string | { id: string; version: string })[],
): Promise<SignedList> {
  knownSchool(deps.config, schoolId);
  assertSchool(user, schoolId);
  const rules = deps.rulesFor(schoolId);
  if (rules.authorisation.mode !== 'daily-list')
    throw doorstepError('POLICY', "the school's policy says each visit is authorised on its own");
  if (!mayAuthorise(rules, [...user.roles, ...user.positions]))
    throw doorstepError(
      'FORBIDDEN',
      `the school's policy says the list is signed by ${rules.authorisation.by.join(' or ') || 'the safeguarding team'}`,
    );
  refusePassedDay(deps, date);
  const seen = new Map<string, string | undefined>();
  for (const l of listed)
    seen.set(typeof l === 'string' ? l : l.id, typeof l === 'string' ? undefined : l.version);
  const asked = [...seen.keys()];
  return change(
    deps,
    async (tx, events) => {
      const now = deps.now();
      const found = await lockVisitsOfDay(tx, schoolId, date, asked);
      const skipped: SignedList['skipped'] = asked
        .filter((id) => !found.some((v) => v.id === id))
        .map((id) => ({ id, why: `not a visit of ${schoolId} planned for ${date}` }));
      const signable: string[] = [];
      for (const v of found) {
        // Changed since the signer's page read it (e.g. a new address sent it back for authorisation
        // after the list was shown, then it was asked for again): not what they saw, so not signed.
        const version = seen.get(v.id);
        if (version !== undefined && version !== v.version) {
          skipped.push({
            id: v.id,
            why: 'it changed after your list was read: read the list again and sign it',
          });
          continue;
        }
        const d = decide('sign-list', lifecycleOf(v, now), actorOf(user), rules);
        if (d.ok) signable.push(v.id);
        else skipped.push({ id: v.id, why: d.message });
      }
      const ids = await authoriseListed(tx, schoolId, signable, user.id, now);
      skipped.sort((a, b) => Number(a.id) - Number(b.id));
      await appendAudit(tx, {
        actor: `user:${user.id}`,
        action: 'visit.day-list-signed',
        schoolId,
        entityType: 'visit-list',
        entityId: date,
        before: null,
        after: { visits: ids, skipped },
      });
      // Thames View 2.7: each visit on the signed list with its appointment time is booked.
      for (const id of ids) await writeAppointmentRecord(tx, deps, (await lockVisit(tx, id))!, 'booked');
      if (ids.length)
        events.push(await insertBoardEvent(tx, schoolId, 'visit.authorised', { visitIds: ids }));
      return { authorised: ids, skipped };
    },
    { relayOutbox: true },
  );
}
