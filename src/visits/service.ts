import type { Redis } from 'ioredis';
import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { londonDate, londonMinutes } from '../domain/attendance/dates.ts';
import { policyFor } from '../domain/escalation/ladder.ts';
import { type Actor, decide, type Effect, type VisitAction } from '../domain/visits/lifecycle.ts';
import {
  departureFindings,
  flagMinimum,
  higherRisk,
  mayAssessRisk,
  mayAuthorise,
  type RiskLevel,
  type VisitRules,
} from '../domain/visits/rules.ts';
import { doorstepError } from '../errors.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import { renderVisitOutcome } from '../records/templates/visit-outcome.ts';
import { addressFlagsFor } from '../store/address-flags.ts';
import { addTimeline, raiseVisitAlarm, resolve } from '../store/alarm-state.ts';
import { appendAudit } from '../store/audit.ts';
import { type BoardEventRow, insertBoardEvent, publishBoardEvents } from '../store/board.ts';
import type { Db, Queryable } from '../store/db.ts';
import { insertOutbox } from '../store/triggers.ts';
import { type User, userById } from '../store/users.ts';
import { setRiskAssessment } from '../store/visit-changes.ts';
import { staffCompetence, visitStaffNames } from '../store/visit-queries.ts';
import {
  type Address,
  formatAddress,
  lifecycleOf,
  lockVisit,
  type Vehicle,
  type VisitRow,
} from '../store/visits.ts';

export interface VisitDeps {
  db: Db;
  config: DoorstepConfig;
  rulesFor: (schoolId: string) => VisitRules;
  producer?: Producer<DoorstepCatalog> | undefined;
  publisher?: Redis | undefined;
  prefix: string;
  now: () => Date;
}

/** Whether the user works at the school (no schools listed: every school of the trust). */
export function userMaySeeSchool(user: User, schoolId: string): boolean {
  return user.schools.length === 0 || user.schools.includes(schoolId);
}

export function schoolOf(config: DoorstepConfig, schoolId: string): SchoolConfig {
  const s = config.schools.find((x) => x.id === schoolId);
  if (!s) throw doorstepError('NOT_FOUND', `no school "${schoolId}"`);
  return s;
}

function assertSchool(user: User, schoolId: string): void {
  if (!userMaySeeSchool(user, schoolId))
    throw doorstepError('FORBIDDEN', `you do not work at school "${schoolId}"`);
}

/**
 * Visiting staff see and act on their own visits only (led, partnered or asked for by them, or one
 * nobody leads yet that they may take); other roles on any visit of their school.
 */
export function mayHandleVisit(user: User, v: VisitRow): boolean {
  if (!userMaySeeSchool(user, v.schoolId)) return false;
  if (!user.roles.every((r) => r === 'visiting-staff')) return true;
  return (
    [v.leadUserId, v.partnerUserId, v.requestedBy].includes(user.id) ||
    (v.leadUserId === null && (v.status === 'requested' || v.status === 'authorised'))
  );
}

function assertMayActOn(user: User, v: VisitRow): void {
  assertSchool(user, v.schoolId);
  if (!mayHandleVisit(user, v)) throw doorstepError('FORBIDDEN', 'this visit is not yours');
}

async function mustLock(tx: Queryable, visitId: string): Promise<VisitRow> {
  const v = await lockVisit(tx, visitId);
  if (!v) throw doorstepError('NOT_FOUND', `no visit ${visitId}`);
  return v;
}

export function actorOf(user: User): Actor {
  return { id: user.id, roles: user.roles, positions: user.positions };
}

/**
 * Asks the lifecycle whether `user` may do `action` to the visit now: 409 when the visit's state
 * does not allow it, 403 when the person may not. Returns what the action does.
 */
function must(deps: VisitDeps, user: User, v: VisitRow, action: VisitAction): Effect {
  assertSchool(user, v.schoolId);
  const d = decide(action, lifecycleOf(v), actorOf(user), deps.rulesFor(v.schoolId));
  if (!d.ok) throw doorstepError(d.why === 'state' ? 'CONFLICT' : 'FORBIDDEN', d.message);
  return d.effect;
}

/**
 * Runs a change to the register in one transaction with its audit entry and board event; after the
 * commit the boards are told (and, when asked, the outbox relay).
 */
async function change<T>(
  deps: VisitDeps,
  fn: (tx: Queryable, events: BoardEventRow[]) => Promise<T>,
  after?: { relayOutbox?: boolean },
): Promise<T> {
  const events: BoardEventRow[] = [];
  const result = await deps.db.transaction((tx) => fn(tx, events));
  await publishBoardEvents(deps.publisher, deps.prefix, events);
  if (after?.relayOutbox) await deps.producer?.enqueue('relay-outbox', { reason: 'after-write' });
  return result;
}

async function audit(
  tx: Queryable,
  user: User,
  action: string,
  v: VisitRow,
  before: unknown,
  afterState: unknown,
): Promise<void> {
  await appendAudit(tx, {
    actor: `user:${user.id}`,
    action,
    schoolId: v.schoolId,
    entityType: 'visit',
    entityId: v.id,
    before,
    after: afterState,
  });
}

export interface VisitRequest {
  schoolId: string;
  pupilMisId?: string | undefined;
  triggerEpisodeId?: string | undefined;
  reason?: string | undefined;
  plannedFor?: string | undefined;
  address?: Address | undefined;
  riskLevel?: 'low' | 'minor' | 'major' | undefined;
  riskNotes?: string | undefined;
  leadUserId?: string | undefined;
}

/** A visit asked for, from a trigger (pupil and reason from it) or by hand; the address from the MIS unless given. */
export async function requestVisit(deps: VisitDeps, user: User, r: VisitRequest): Promise<string> {
  schoolOf(deps.config, r.schoolId);
  assertSchool(user, r.schoolId);
  return change(deps, async (tx, events) => {
    let pupil = r.pupilMisId;
    let reason = r.reason?.trim();
    if (r.triggerEpisodeId) {
      const { rows } = await tx.query<{ pupil_mis_id: string; title: string }>(
        'SELECT pupil_mis_id, title FROM trigger_episodes WHERE id = $1 AND school_id = $2',
        [r.triggerEpisodeId, r.schoolId],
      );
      if (!rows[0]) throw doorstepError('NOT_FOUND', `no trigger ${r.triggerEpisodeId} at ${r.schoolId}`);
      pupil = rows[0].pupil_mis_id;
      reason ||= rows[0].title;
    }
    if (!pupil) throw doorstepError('BAD_REQUEST', 'pupilMisId: expected the pupil (or a triggerEpisodeId)');
    if (!reason) throw doorstepError('BAD_REQUEST', 'reason: expected why the visit is needed');
    const { rows: pupils } = await tx.query<{ address: Address | null }>(
      'SELECT address FROM pupils WHERE school_id = $1 AND mis_id = $2',
      [r.schoolId, pupil],
    );
    if (!pupils[0]) throw doorstepError('NOT_FOUND', `pupilMisId: no pupil "${pupil}" at ${r.schoolId}`);
    const address = r.address ?? pupils[0].address ?? {};
    if (!formatAddress(address))
      throw doorstepError('BAD_REQUEST', 'address: the MIS has no address for this pupil; type one in');
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO visits (school_id, pupil_mis_id, trigger_episode_id, reason, address, planned_for, risk_level, risk_notes,
         status, requested_by, lead_user_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'requested', $9, $10) RETURNING id`,
      [
        r.schoolId,
        pupil,
        r.triggerEpisodeId ?? null,
        reason,
        JSON.stringify(address),
        r.plannedFor ?? londonDate(deps.now()),
        r.riskLevel ?? 'low',
        r.riskNotes?.trim() || null,
        user.id,
        r.leadUserId ?? (user.roles.includes('visiting-staff') ? user.id : null),
      ],
    );
    const id = String(rows[0]!.id);
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
      });
    const v = (await lockVisit(tx, id))!;
    await audit(tx, user, 'visit.requested', v, null, {
      status: 'requested',
      pupil,
      trigger: r.triggerEpisodeId ?? null,
      plannedFor: v.plannedFor,
      riskLevel: v.riskLevel,
    });
    events.push(await insertBoardEvent(tx, r.schoolId, 'visit.requested', { visitId: id }));
    return id;
  });
}

export interface RiskAssessment {
  level: RiskLevel;
  reason: string;
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
  await setRiskAssessment(tx, v.id, {
    level: risk.level,
    by: `user:${user.id}`,
    at: deps.now(),
    reason: risk.reason.trim(),
  });
  await audit(
    tx,
    user,
    'visit.risk-assessed',
    v,
    { riskLevel: v.riskLevel, assessed: v.riskAssessedAt !== null },
    { riskLevel: risk.level, reason: risk.reason.trim() },
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
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    assertSchool(user, v.schoolId);
    const rules = deps.rulesFor(v.schoolId);
    if (outOfHours && !(rules.hours?.approvable || rules.hours?.mode === 'recommend'))
      throw doorstepError('POLICY', "the school's policy allows no visits outside its hours");
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
    must(deps, user, v, 'authorise');
    if (risk) {
      if (!mayAssessRisk(rules, [...user.roles, ...user.positions]))
        throw doorstepError('FORBIDDEN', `the risk is assessed by ${rules.risk.assessedBy.join(' or ')}`);
      if (!risk.reason.trim())
        throw doorstepError('BAD_REQUEST', 'reason: expected why the risk is at this level');
      await recordRisk(deps, tx, user, v, risk);
    } else if (rules.risk.at === 'authorisation' && !v.riskAssessedAt)
      throw doorstepError('POLICY', 'assess the risk when authorising: give its level and why');
    await tx.query(
      `UPDATE visits SET status = 'authorised', authorised_by = $2, authorised_at = $3, authorisation_note = $4,
         out_of_hours_approved = $5, updated_at = now() WHERE id = $1`,
      [visitId, user.id, deps.now(), note?.trim() || null, outOfHours],
    );
    await audit(
      tx,
      user,
      'visit.authorised',
      v,
      { status: v.status },
      { status: 'authorised', note: note ?? null, outOfHours },
    );
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.authorised', { visitId }));
  });
}

/** The day's list signed (Thames View: by the Headteacher): every requested visit planned for that day. */
export async function signDayList(
  deps: VisitDeps,
  user: User,
  schoolId: string,
  date: string,
): Promise<string[]> {
  schoolOf(deps.config, schoolId);
  assertSchool(user, schoolId);
  const rules = deps.rulesFor(schoolId);
  if (rules.authorisation.mode !== 'daily-list')
    throw doorstepError('POLICY', "the school's policy says each visit is authorised on its own");
  if (!mayAuthorise(rules, [...user.roles, ...user.positions]))
    throw doorstepError(
      'FORBIDDEN',
      `the school's policy says the list is signed by ${rules.authorisation.by.join(' or ') || 'the safeguarding team'}`,
    );
  return change(deps, async (tx, events) => {
    const { rows } = await tx.query<{ id: string }>(
      `UPDATE visits SET status = 'authorised', authorised_by = $3, authorised_at = $4,
         authorisation_note = 'day list signed', updated_at = now()
       WHERE school_id = $1 AND planned_for = $2 AND status = 'requested' RETURNING id`,
      [schoolId, date, user.id, deps.now()],
    );
    const ids = rows.map((r) => String(r.id));
    await appendAudit(tx, {
      actor: `user:${user.id}`,
      action: 'visit.day-list-signed',
      schoolId,
      entityType: 'visit-list',
      entityId: date,
      before: null,
      after: { visits: ids },
    });
    events.push(await insertBoardEvent(tx, schoolId, 'visit.authorised', { visitIds: ids }));
    return ids;
  });
}

export interface Departure {
  partnerUserId?: string | undefined;
  expectedReturnAt: Date;
  checkInMinutes?: number | undefined;
  safeWord?: string | undefined;
  /** The visiting staff confirm they have read the risk notes and address flags. */
  risksRead: boolean;
  /** A number to reach the worker on while out (default: their account's). */
  phone?: string | undefined;
  vehicle?: Vehicle | undefined;
  onFoot?: boolean | undefined;
}

/** The partner must be an active member of the visiting staff of the visit's school. */
async function checkPartner(tx: Queryable, v: VisitRow, partnerId: string, lead: string): Promise<void> {
  if (partnerId === lead)
    throw doorstepError('BAD_REQUEST', 'partnerUserId: the partner must be someone else');
  const p = /^\d{1,18}$/.test(partnerId) ? await userById(tx, partnerId) : undefined;
  if (!p || p.disabled) throw doorstepError('NOT_FOUND', `partnerUserId: no member of staff ${partnerId}`);
  if (!p.roles.includes('visiting-staff') || !userMaySeeSchool(p, v.schoolId))
    throw doorstepError('POLICY', 'partnerUserId: the partner must be visiting staff of this school');
}

/** Leaving school: the policy's checks (authorisation, pairs, safe word, hours, risk) must pass. */
export async function departVisit(deps: VisitDeps, user: User, visitId: string, d: Departure): Promise<void> {
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    assertMayActOn(user, v);
    const rules = deps.rulesFor(v.schoolId);
    const now = deps.now();
    if (!d.risksRead)
      throw doorstepError('POLICY', 'risksRead: confirm the risk notes and address flags were read');
    const lead = v.leadUserId ?? user.id;
    if (d.partnerUserId) await checkPartner(tx, v, d.partnerUserId, lead);
    const leadUser = lead === user.id ? user : await userById(tx, lead);
    const phone = d.phone?.trim() || leadUser?.phone || null;
    const school = schoolOf(deps.config, v.schoolId);
    const fob = leadUser?.staffId
      ? (school.fobs.devices.find((x) => x.staffId === leadUser.staffId)?.deviceId ?? null)
      : null;
    const flags = await addressFlagsFor(tx, v.schoolId, v.address);
    const going = [lead, ...(d.partnerUserId ? [d.partnerUserId] : [])];
    const findings = departureFindings(rules, {
      status: v.status,
      // A dangerous (or caution) address raises the level whatever was assessed.
      riskLevel: higherRisk(v.riskLevel, flagMinimum(flags)),
      riskAssessed: v.riskAssessedAt !== null,
      staff: await staffCompetence(tx, going, v.id),
      returnLondonMinutes: londonMinutes(d.expectedReturnAt),
      partner: Boolean(d.partnerUserId),
      safeWord: d.safeWord ?? null,
      londonMinutes: londonMinutes(now),
      outOfHoursApproved: v.outOfHoursApproved,
      expectedReturnAt: d.expectedReturnAt,
      now,
      checkInMinutes: d.checkInMinutes ?? null,
      phone: phone !== null,
      fob: fob !== null,
      vehicle: Boolean(d.vehicle) || d.onFoot === true,
    });
    const blocks = findings.filter((f) => f.level === 'block');
    if (blocks.length)
      throw doorstepError('POLICY', `cannot leave yet: ${blocks.map((b) => b.message).join('; ')}`, {
        details: blocks.map((b) => b.rule),
      });
    must(deps, user, v, 'depart');
    await tx.query(
      `UPDATE visits SET status = 'departed', lead_user_id = $2, partner_user_id = $3, departed_at = $4,
         expected_return_at = $5, check_in_minutes = $6, safe_word = $7, worker_phone = $8, vehicle = $9,
         fob_device_id = $10, updated_at = now() WHERE id = $1`,
      [
        visitId,
        lead,
        d.partnerUserId ?? null,
        now,
        d.expectedReturnAt,
        d.checkInMinutes ?? rules.checkInMinutes ?? null,
        d.safeWord?.trim() || null,
        phone,
        d.vehicle ? JSON.stringify(d.vehicle) : null,
        fob,
      ],
    );
    await audit(
      tx,
      user,
      'visit.departed',
      v,
      { status: v.status },
      {
        status: 'departed',
        lead,
        partner: d.partnerUserId ?? null,
        expectedReturnAt: d.expectedReturnAt.toISOString(),
        warnings: findings.filter((f) => f.level === 'warn').map((f) => f.rule),
      },
    );
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.departed', { visitId }));
  });
}

/** Resolves the visit's open alarms of these kinds as the worker safe (never an incident record). */
export async function clearVisitAlarms(
  tx: Queryable,
  v: Pick<VisitRow, 'id' | 'schoolId'>,
  types: readonly string[],
  by: string,
  why: string,
  now: Date,
  events: BoardEventRow[],
  as: 'worker_safe' | 'worker_safe_running_late' = 'worker_safe',
): Promise<void> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM alarms WHERE visit_id = $1 AND type = ANY($2::text[]) AND status <> 'resolved'`,
    [v.id, [...types]],
  );
  for (const r of rows) {
    const alarmId = String(r.id);
    if ((await resolve(tx, alarmId, by, as, why, now)) === 'resolved') {
      await addTimeline(tx, alarmId, why, by);
      events.push(await insertBoardEvent(tx, v.schoolId, 'alarm.resolved', { alarmId }));
    }
  }
}

/** Stands down the visit alarms an action clears, as the lifecycle says (never as an incident). */
function applyClears(
  tx: Queryable,
  v: VisitRow,
  effect: Effect,
  by: string,
  why: string,
  now: Date,
  events: BoardEventRow[],
) {
  if (!effect.clears.length || !effect.clearedAs) return Promise.resolve();
  return clearVisitAlarms(tx, v, effect.clears, by, why, now, events, effect.clearedAs);
}

/** A check-in from the phone page (or the office on the worker's behalf); clears a missed check-in. */
export async function checkInVisit(
  deps: VisitDeps,
  user: User,
  visitId: string,
  source: 'phone' | 'office',
): Promise<void> {
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    const effect = must(deps, user, v, 'check-in');
    const now = deps.now();
    await tx.query('INSERT INTO visit_check_ins (visit_id, at, source, by_user_id) VALUES ($1, $2, $3, $4)', [
      visitId,
      now,
      source,
      user.id,
    ]);
    await tx.query('UPDATE visits SET last_check_in_at = $2, updated_at = now() WHERE id = $1', [
      visitId,
      now,
    ]);
    await audit(tx, user, 'visit.checked-in', v, null, { source });
    await applyClears(tx, v, effect, `user:${user.id}`, 'the worker checked in', now, events);
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.checked-in', { visitId }));
  });
}

/**
 * Back safe (the worker, or the office after speaking to them): the only way monitoring ends. The
 * visit's overdue and missed check-in alarms stand down as the worker safe; the visit is returned,
 * or completed when its outcome was already recorded (a visit cancelled while out stays cancelled).
 */
export async function returnVisit(deps: VisitDeps, user: User, visitId: string): Promise<void> {
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    const effect = must(deps, user, v, 'back-safe');
    const now = deps.now();
    const status = effect.status ?? v.status;
    await tx.query(
      `UPDATE visits SET status = $2, returned_at = $3, back_safe_by = $4,
         completed_at = CASE WHEN $2 = 'completed' THEN $3 ELSE completed_at END, updated_at = now() WHERE id = $1`,
      [visitId, status, now, `user:${user.id}`],
    );
    await audit(tx, user, 'visit.returned', v, { status: v.status }, { status, backSafe: true });
    await applyClears(tx, v, effect, `user:${user.id}`, 'the worker is back safe', now, events);
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.returned', { visitId }));
  });
}

/** The worker has arrived at the address (the arrival check-in some policies ask for). */
export async function arriveVisit(deps: VisitDeps, user: User, visitId: string): Promise<void> {
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    const effect = must(deps, user, v, 'arrive');
    const now = deps.now();
    await tx.query('UPDATE visits SET arrived_at = $2, updated_at = now() WHERE id = $1', [visitId, now]);
    await audit(tx, user, 'visit.arrived', v, null, { arrivedAt: now.toISOString() });
    await applyClears(tx, v, effect, `user:${user.id}`, 'the worker has arrived', now, events);
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.arrived', { visitId }));
  });
}

/**
 * Running late (Hampton: "contact the Office to advise of their expected return time"): a new
 * expected return with a reason, from the worker or the office. The overdue timer re-arms for the
 * new time, and an open overdue alarm stands down as "worker safe, running late" — not an incident.
 */
export async function runningLate(
  deps: VisitDeps,
  user: User,
  visitId: string,
  newReturnAt: Date,
  reason: string,
): Promise<void> {
  if (!reason.trim()) throw doorstepError('BAD_REQUEST', 'reason: expected why the worker is late');
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    const effect = must(deps, user, v, 'running-late');
    const now = deps.now();
    if (newReturnAt.getTime() <= now.getTime())
      throw doorstepError('BAD_REQUEST', 'expectedReturnAt: expected a time in the future');
    await tx.query('UPDATE visits SET expected_return_at = $2, updated_at = now() WHERE id = $1', [
      visitId,
      newReturnAt,
    ]);
    await tx.query(
      `INSERT INTO visit_return_changes (visit_id, at, by_user_id, previous_at, new_at, reason)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [visitId, now, user.id, v.expectedReturnAt, newReturnAt, reason.trim()],
    );
    await audit(
      tx,
      user,
      'visit.running-late',
      v,
      { expectedReturnAt: v.expectedReturnAt?.toISOString() ?? null },
      { expectedReturnAt: newReturnAt.toISOString(), reason: reason.trim() },
    );
    await applyClears(
      tx,
      v,
      effect,
      `user:${user.id}`,
      `running late, back by ${newReturnAt.toISOString()}: ${reason.trim()}`,
      now,
      events,
    );
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.running-late', { visitId }));
  });
}

/**
 * "I need help" from the phone page: an SOS alarm for the visit, raised as a fob SOS would be (the
 * school's `sos` ladder, the board at once, escalation), with the browser's position when the worker
 * allowed it. Each press is its own alarm.
 */
export async function askForHelp(
  deps: VisitDeps,
  user: User,
  visitId: string,
  location: { lat: number; lon: number; accuracyM: number | null } | null,
): Promise<string> {
  const now = deps.now();
  const alarmId = await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    must(deps, user, v, 'help');
    const school = schoolOf(deps.config, v.schoolId);
    const id = await raiseVisitAlarm(tx, {
      schoolId: v.schoolId,
      visitId,
      staffId: user.staffId,
      type: 'sos',
      dedupKey: `visit:${visitId}:help:${user.id}:${now.toISOString()}`,
      raisedAt: now,
      policy: policyFor(school.escalation, 'sos'),
      what: `alarm raised: sos — ${user.displayName} pressed "I need help" on the phone page`,
      actor: `user:${user.id}`,
      location,
    });
    events.push(
      await insertBoardEvent(tx, v.schoolId, 'alarm.raised', { alarmId: id, type: 'sos', visitId }),
    );
    return id!;
  });
  await deps.producer?.enqueue('escalate', { alarmId, step: 0 }, { jobId: `escalate-${alarmId}-0` });
  return alarmId;
}

/** The safe word of a visit out, for the office to recognise on the phone: audited, never listed or logged. */
export async function revealSafeWord(deps: VisitDeps, user: User, visitId: string): Promise<string> {
  return change(deps, async (tx) => {
    const v = await mustLock(tx, visitId);
    must(deps, user, v, 'reveal-safe-word');
    await audit(tx, user, 'visit.safe-word-revealed', v, null, { revealed: true });
    return v.safeWord!;
  });
}

/** The safeguarding team records what was done about a child not seen; the pupil leaves "needs follow-up". */
export async function followUpDone(
  deps: VisitDeps,
  user: User,
  visitId: string,
  note: string,
): Promise<void> {
  if (!note.trim()) throw doorstepError('BAD_REQUEST', 'note: expected what was done');
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    must(deps, user, v, 'follow-up-done');
    const now = deps.now();
    await tx.query(
      'UPDATE visits SET follow_up_done_at = $2, follow_up_done_by = $3, updated_at = now() WHERE id = $1',
      [visitId, now, `user:${user.id}`],
    );
    await audit(tx, user, 'visit.follow-up-done', v, null, { note: note.trim() });
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.follow-up-done', { visitId }));
  });
}

export interface OutcomeInput {
  childSeen: boolean;
  noOneHome: boolean;
  spokeTo?: string | undefined;
  agreements: string[];
  concerns: string[];
  followUp: { action: string; by: string; due?: string | null | undefined }[];
}

/**
 * The outcome form: the visit is completed and, in the same transaction, its CPOMS visit-outcome
 * record goes into the outbox under one idempotency key (submitting twice changes nothing).
 */
export async function recordOutcome(
  deps: VisitDeps,
  user: User,
  visitId: string,
  o: OutcomeInput,
): Promise<void> {
  await change(
    deps,
    async (tx, events) => {
      const v = await mustLock(tx, visitId);
      const effect = must(deps, user, v, 'record-outcome');
      if (o.noOneHome && o.childSeen)
        throw doorstepError('BAD_REQUEST', 'childSeen: cannot be true when no one was home');
      const now = deps.now();
      const school = schoolOf(deps.config, v.schoolId);
      const { rows: pupilRows } = await tx.query<{
        upn: string | null;
        forename: string | null;
        surname: string | null;
      }>('SELECT upn, forename, surname FROM pupils WHERE school_id = $1 AND mis_id = $2', [
        v.schoolId,
        v.pupilMisId,
      ]);
      const p = pupilRows[0];
      const record = renderVisitOutcome({
        visitId,
        pupils: [
          {
            misId: v.pupilMisId,
            upn: p?.upn ?? null,
            name: p ? [p.forename, p.surname].filter(Boolean).join(' ') : null,
          },
        ],
        visitedBy: await visitStaffNames(tx, v),
        address: formatAddress(v.address),
        departedAt: v.departedAt ?? now,
        returnedAt: v.returnedAt ?? now,
        childSeen: o.childSeen,
        noOneHome: o.noOneHome,
        spokeTo: o.spokeTo ?? null,
        agreements: o.agreements,
        concerns: o.concerns,
        followUp: o.followUp.map((f) => ({ action: f.action, by: f.by, due: f.due ?? null })),
        reason: v.reason,
      });
      const outcome = { ...o, recordedBy: user.id, recordedAt: now.toISOString() };
      // Recorded while out: the visit stays departed (and watched) until the worker is back safe.
      const status = effect.status ?? v.status;
      await tx.query(
        `UPDATE visits SET status = $4, outcome = $2,
           completed_at = CASE WHEN $4 = 'completed' THEN $3 ELSE completed_at END, updated_at = now() WHERE id = $1`,
        [visitId, JSON.stringify(outcome), now, status],
      );
      const outboxId = await insertOutbox(tx, {
        schoolId: v.schoolId,
        kind: 'visit_outcome',
        pupilIds: [v.pupilMisId],
        title: record.title,
        body: record.body,
        occurredAt: v.departedAt ?? now,
        sink: school.records.sink,
        idempotencyKey: `visit-outcome:${v.schoolId}:${visitId}`,
        sourceType: 'visit',
        sourceId: visitId,
      });
      await audit(
        tx,
        user,
        'visit.completed',
        v,
        { status: v.status },
        { status, childSeen: o.childSeen, noOneHome: o.noOneHome, outboxId },
      );
      events.push(await insertBoardEvent(tx, v.schoolId, 'visit.completed', { visitId }));
    },
    { relayOutbox: true },
  );
}

/** A visit called off, with the reason (e.g. parent not present after 20 minutes, dangerous animal). */
export async function cancelVisit(
  deps: VisitDeps,
  user: User,
  visitId: string,
  reason: string,
): Promise<void> {
  if (!reason.trim()) throw doorstepError('BAD_REQUEST', 'reason: expected why the visit is cancelled');
  await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    assertMayActOn(user, v);
    must(deps, user, v, 'cancel');
    const now = deps.now();
    // Cancelled while out: still watched until the worker is back safe.
    await tx.query(
      `UPDATE visits SET status = 'cancelled', cancelled_at = $2, cancel_reason = $3, updated_at = now() WHERE id = $1`,
      [visitId, now, reason.trim()],
    );
    await audit(
      tx,
      user,
      'visit.cancelled',
      v,
      { status: v.status },
      { status: 'cancelled', reason: reason.trim() },
    );
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.cancelled', { visitId }));
  });
}
