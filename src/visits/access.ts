import { holdsRole } from '../auth/scope.ts';
import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { findSchool, schoolOrFallback } from '../config/school-of.ts';
import type { Actor, VisitAction } from '../domain/visits/lifecycle.ts';
import { doorstepError } from '../errors.ts';
import type { User } from '../store/users.ts';
import type { VisitRow } from '../store/visits.ts';

/** Who may see which school and which visit; the lifecycle (see `must` in change.ts) decides the rest. */

/** Whether the user works at the school (no schools listed: every school of the trust). */
export function userMaySeeSchool(user: User, schoolId: string): boolean {
  return user.schools.length === 0 || user.schools.includes(schoolId);
}

/** The school a request or a visit names; one the config does not hold is not found (404). */
export function knownSchool(config: DoorstepConfig, schoolId: string): SchoolConfig {
  const s = findSchool(config, schoolId);
  if (!s) throw doorstepError('NOT_FOUND', `no school "${schoolId}"`);
  return s;
}

export function assertSchool(user: User, schoolId: string): void {
  if (!userMaySeeSchool(user, schoolId))
    throw doorstepError('FORBIDDEN', `you do not work at school "${schoolId}"`);
}

/**
 * The steps taken for a worker out of the door: their arrival and check-ins (their own, or recorded
 * for them), running late, "I need help" (and its position), back safe, "I am still out", the safe
 * word. For a school the config no longer holds, the `trust.orphansTo` school's office may take these
 * (`userMayActAtSchool`); every other step stays the missing school's people's.
 */
const FOR_THE_WORKER_OUT: ReadonlySet<VisitAction> = new Set<VisitAction>([
  'arrive',
  'record-arrival',
  'check-in',
  'record-check-in',
  'running-late',
  'help',
  'back-safe',
  'resume-watch',
  'reveal-safe-word',
]);

/** Whether `action` is one taken for a worker out of the door (`FOR_THE_WORKER_OUT`). */
export function actsForWorkerOut(action: VisitAction): boolean {
  return FOR_THE_WORKER_OUT.has(action);
}

/**
 * Whether the user may take `action` at a visit's school: works there; or — for a step taken for the
 * worker out only (`actsForWorkerOut`) at a school the config no longer holds (removed, or its id
 * renamed, while its worker was out) — at the school that takes its workers out and alarms
 * (`trust.orphansTo`, `schoolOrFallback`), whose office takes the alarm and phones the worker, and
 * records what they say (running late, back safe, a check-in, still out), as its board takes the
 * alarm (`alarmSchool`, board-api.ts). Every other step (an assessment, an approval, an outcome, a
 * follow-up) stays the missing school's own people's, as its page does.
 */
export function userMayActAtSchool(
  config: DoorstepConfig,
  user: User,
  schoolId: string,
  action: VisitAction,
): boolean {
  if (userMaySeeSchool(user, schoolId)) return true;
  return actsForWorkerOut(action) && userMaySeeSchool(user, schoolOrFallback(config, schoolId).school.id);
}

/** `userMayActAtSchool`, else 403. */
export function assertMayActAtSchool(
  config: DoorstepConfig,
  user: User,
  schoolId: string,
  action: VisitAction,
): void {
  if (!userMayActAtSchool(config, user, schoolId, action))
    throw doorstepError('FORBIDDEN', `you do not work at school "${schoolId}"`);
}

/**
 * Whether the user sees every visit of their schools: the office, the safeguarding team and admins.
 * Anyone else — visiting staff, also when they hold another role such as data manager — sees their
 * own visits only: a second role that gives no right to visits must not widen the first.
 */
export function seesEveryVisit(user: User): boolean {
  return holdsRole(user, 'office') || holdsRole(user, 'safeguarding');
}

/**
 * Visiting staff see and act on their own visits only (led, partnered or asked for by them, or one
 * nobody leads yet that they may take); the office and safeguarding on any visit of their school.
 */
export function mayHandleVisit(user: User, v: VisitRow): boolean {
  return userMaySeeSchool(user, v.schoolId) && handlesVisit(user, v);
}

/**
 * `mayHandleVisit` for taking `action`, at the visit's school as `userMayActAtSchool` says: for a step
 * taken for the worker out at a school the config no longer holds, also the `orphansTo` school's
 * people (the lifecycle then decides); for any other step, as `mayHandleVisit`.
 */
export function mayActOnVisit(config: DoorstepConfig, user: User, v: VisitRow, action: VisitAction): boolean {
  return userMayActAtSchool(config, user, v.schoolId, action) && handlesVisit(user, v);
}

function handlesVisit(user: User, v: VisitRow): boolean {
  if (seesEveryVisit(user)) return true;
  return (
    [v.leadUserId, v.partnerUserId, v.requestedBy].includes(user.id) ||
    (v.leadUserId === null && (v.status === 'requested' || v.status === 'authorised'))
  );
}

export function assertMayActOn(user: User, v: VisitRow): void {
  assertSchool(user, v.schoolId);
  if (!mayHandleVisit(user, v)) throw doorstepError('FORBIDDEN', 'this visit is not yours');
}

export function actorOf(user: User): Actor {
  return { id: user.id, roles: user.roles, positions: user.positions };
}
