import type { ResolutionReason } from '../escalation/resolution.ts';
import { holdsRole, type UserRole } from '../roles.ts';
import { MAX_RETURN_AHEAD_MINUTES } from './return-time.ts';
import { mayApproveCommute, mayAssessRisk, mayAuthorise, type VisitRules } from './rules.ts';

/**
 * The visit lifecycle as one transition table: for each action, from which states, by whom, and
 * what it does to the visit and to its monitoring. Pure and clock-free. The register (service),
 * its API and the pages all ask it: the pages render exactly the actions `allowedActions` returns.
 *
 *   requested ─authorise / sign-list─► authorised ─depart─► departed ══ out: watched ══╗
 *   (requested ─depart─► departed, where the policy needs no authorisation)             ║
 *   out: arrive · check-in · running-late · record-outcome · cancel (all keep watching) ║
 *     (running-late: the worker's own until ownReturnTimeClosed; the office's always)   ║
 *     (arrive, check-in: the people on the visit's own; the office, after speaking to   ║
 *     them, records them for them: record-arrival · record-check-in)                    ║
 *   at the door (Thames View 3.4/3.5): no-answer (an outcome) after the pack's wait;     ║
 *     parent-late-cancel (cancelled, with the clause as reason) past its lateness limit, ║
 *     only where the parent gave notice they are running late (parent-running-late:    ║
 *     before leaving on the planned day, or out before arrival or within the wait; with ║
 *     it, no-answer is not offered)                                                     ║
 *   out ─back-safe─► returned (no outcome yet) / completed (outcome recorded) / ◄════════╝
 *                    cancelled (stays cancelled) — the only way monitoring ends
 *   back safe within RESUME_WATCH_MINUTES ─resume-watch─► out again ("I am still out": back safe
 *     was said by mistake — by the office, the partner, a slip of the thumb); departed, or still
 *     cancelled; an outcome already recorded is kept
 *   departed at any time (out, or back safe however long ago): help (an SOS; the people on the visit)
 *   returned ─record-outcome─► completed
 *   departed · returned · completed: raise-concern (at once to the safeguarding team; no state change)
 *   requested · authorised: set-appointment (Thames View 2.7: the appointment's time)
 *   requested · authorised, nobody leading it: go-on-visit ("I'll go on this visit": visiting staff
 *     take it as its lead before the departure form, so the pupil's flags and the family's contacts
 *     are shown to them before they leave; the office names who goes — on it, or on the departure
 *     form; visiting staff depart only a visit they are on) — and back: not-going (its
 *     lead, the office or safeguarding; not a visit on the way to or from work, its lead's journey)
 *   requested · authorised ─change-date─► requested (what was given for the old day withdrawn:
 *     authorisation — a day's list is signed for its day —, assessments, approvals, the family's notice)
 *   authorised: approve-out-of-hours (Lime Hills' evenings, King's exceptional hours: after the
 *     authorisation, by its authorisers; once)
 *   requested · authorised ─change-address─► requested (authorisation, risk assessment and
 *     out-of-hours approval withdrawn: they were given for the old address)
 *   completed, with agreements: agreement-broken (Thames View 4.2/4.3; no state change)
 *
 * "Out" is a visit that departed and is not back safe, whatever its status says: an outcome typed on
 * the doorstep, or a cancellation while out, does not end the watch.
 */
export type VisitStatus = 'requested' | 'authorised' | 'departed' | 'returned' | 'completed' | 'cancelled';

export const VISIT_ACTIONS = [
  'assess-risk',
  'authorise',
  'sign-list',
  'depart',
  'arrive',
  'check-in',
  'record-arrival',
  'record-check-in',
  'running-late',
  'help',
  'back-safe',
  'resume-watch',
  'record-outcome',
  'parent-running-late',
  'no-answer',
  'cancel',
  'parent-late-cancel',
  'reveal-safe-word',
  'print-slip',
  'follow-up-done',
  'raise-concern',
  'tell-family',
  'approve-commute',
  'approve-out-of-hours',
  'set-appointment',
  'go-on-visit',
  'not-going',
  'change-date',
  'change-address',
  'agreement-broken',
] as const;
export type VisitAction = (typeof VISIT_ACTIONS)[number];

export interface LifecycleVisit {
  status: VisitStatus;
  leadUserId: string | null;
  partnerUserId: string | null;
  requestedBy: string;
  departedAt: Date | null;
  /** When monitoring ended (back safe). */
  returnedAt: Date | null;
  arrivedAt: Date | null;
  outcomeRecorded: boolean;
  childSeen: boolean | null;
  followUpDone: boolean;
  hasSafeWord: boolean;
  /** How many agreements the recorded outcome holds (0 without an outcome). */
  agreements: number;
  /**
   * Minutes the family has kept the worker waiting (`doorWaitMinutes`: from the arranged time, else
   * the arrival; null: not arrived), as of the moment of asking: the caller reads the clock, so the
   * lifecycle stays clock-free.
   */
  doorWaitMinutes: number | null;
  /**
   * The parent/carer gave notice that they are running late (Thames View 3.5), recorded on the visit
   * (`parent-running-late`): the worker then waits up to the pack's lateness limit instead of its
   * no-answer wait (3.4), and the visit is cancelled only past that limit.
   */
  parentSaidLate: boolean;
  /** Made on the way to work or home from work (not from school and back). */
  commute: boolean;
  /** Such a visit approved beforehand by whoever the pack names. */
  commuteApproved: boolean;
  /** Approved to be made outside the pack's hours (at or after authorisation). */
  outOfHoursApproved: boolean;
  /**
   * The London date it is planned for has gone by (the caller reads the clock): it can never leave
   * on its day, so it is not authorised, signed or announced to the family until moved.
   */
  dayPassed: boolean;
  /**
   * It is the London date the visit is planned for (the caller reads the clock): the day a parent's
   * warning that they will be late (Thames View 3.5) is taken before the visit leaves.
   */
  plannedToday: boolean;
  /**
   * Said back safe less than `RESUME_WATCH_MINUTES` ago (the caller reads the clock): a back safe
   * said by mistake — the partner's "both back safe" while the lead is still at the door, the office
   * recording the wrong visit — can still be undone ("I am still out": `resume-watch`).
   */
  recentlyBack: boolean;
  /**
   * Out, and no new return time of their own is left for the people on the visit to set: it has been
   * `MAX_RETURN_AHEAD_MINUTES` since someone other than them last confirmed them safe
   * (`ownReturnTimeClosed`, return-time.ts; the caller reads the clock and those confirmations). From
   * then running late is the office's, after speaking to them — so it is not offered to the worker.
   */
  ownReturnTimeClosed: boolean;
}

/**
 * How long after "back safe" the phone page stays with the people on the visit as while they were
 * out (their session is held: src/store/users.ts). "I need help" itself is never refused for being
 * too long after back safe (`help`): when in doubt on the alarm path, raise.
 */
export const HELP_AFTER_BACK_MINUTES = 60;

/**
 * "I need help" after back safe at `returnedAt`, as the phone page offers it at its top to the people
 * on the visit: until HELP_AFTER_BACK_MINUTES after it (`until`), and whether `now` is before then
 * (`open`). The server says both; the page keeps no time of its own (a back safe someone else said
 * keeps it at the top whatever the time, and the action itself is never refused for the time since).
 */
export function helpAfterBack(returnedAt: Date, now: Date): { open: boolean; until: Date } {
  const until = new Date(returnedAt.getTime() + HELP_AFTER_BACK_MINUTES * 60_000);
  return { open: now < until, until };
}

/**
 * How long after "back safe" it can be undone ("I am still out": `resume-watch`): 12 hours. Long
 * enough to cover the longest visiting day the packs allow (08:00–18:00) from a back safe recorded
 * by mistake at its start, and an evening visit past midnight (so not "the same London day", which
 * would end at 00:00 for a worker still out at 23:50); short enough that a visit from another day is
 * never put out again — a worker going out again then is a new visit, through its authorisation.
 */
export const RESUME_WATCH_MINUTES = 12 * 60;

export interface Actor {
  id: string;
  roles: readonly string[];
  positions: readonly string[];
}

/** Alarm kinds the register raises and clears. */
export type VisitAlarmType = 'overdue_visit' | 'missed_check_in' | 'device_silent';

/** How the register stands a visit's alarms down (src/domain/escalation/resolution.ts): all the worker safe. */
export type VisitClearReason = Extract<
  ResolutionReason,
  | 'worker_safe'
  | 'worker_safe_running_late'
  | 'worker_checked_in'
  | 'worker_arrived'
  | 'worker_safe_contacted'
>;

export interface Effect {
  /** The status after the action (`null`: unchanged). */
  status: VisitStatus | null;
  monitoring: 'start' | 'keep' | 'end' | 'none';
  /**
   * Open visit alarms the action stands down, and how they are resolved (never an incident): a
   * check-in or an arrival as the worker still out (`worker_checked_in`, `worker_arrived`), never
   * "safe and back" — `worker_safe` is back safe's.
   */
  clears: readonly VisitAlarmType[];
  clearedAs: VisitClearReason | null;
  /**
   * The visit's authorisation, risk assessment and out-of-hours approval are withdrawn (they were
   * given for something that has changed): it waits for them again.
   */
  withdrawsApproval?: boolean;
}

/** Whether the visit's worker is out and being watched. */
export function isOut(v: Pick<LifecycleVisit, 'departedAt' | 'returnedAt'>): boolean {
  return v.departedAt !== null && v.returnedAt === null;
}

/** Not left yet (requested or authorised), on the London date it is planned for. */
const beforeLeavingToday = (v: LifecycleVisit) =>
  (v.status === 'requested' || v.status === 'authorised') && v.departedAt === null && v.plannedToday;

/** Out, arrived at the door, nothing recorded yet, not cancelled: waiting for the parent. */
const atTheDoor = (v: LifecycleVisit) =>
  isOut(v) && v.status === 'departed' && v.arrivedAt !== null && !v.outcomeRecorded;

/** The person holds one of the roles — an admin holds every one (holdsRole: the routes' own test). */
const has = (a: Actor, ...roles: UserRole[]) => roles.some((r) => holdsRole(a, r));
/** Whether the person is one of the visit's staff: its lead or its partner. */
export const onVisit = (a: { id: string }, v: Pick<LifecycleVisit, 'leadUserId' | 'partnerUserId'>) =>
  a.id === v.leadUserId || a.id === v.partnerUserId;
/** Office, safeguarding and admin act on any visit of their school. */
const staffRole = (a: Actor) => has(a, 'office', 'safeguarding');

/**
 * Who may name the worker going on a visit nobody leads (the office for a worker who phoned):
 * office, safeguarding and admin. Visiting staff take such a visit as its lead themselves — naming a
 * colleague would put them out, watched and alarmed, without their knowing.
 */
export const mayNameLead = (a: Actor): boolean => staffRole(a);
/** Visiting staff may take a visit nobody leads yet. */
const mayTake = (a: Actor, v: LifecycleVisit) => has(a, 'visiting-staff') && v.leadUserId === null;

interface Transition {
  from: (v: LifecycleVisit, rules: VisitRules) => boolean;
  /**
   * Why `from` refuses, where the state alone would not say it (a wait not over for a parent who
   * said they are running late, a cancellation for lateness nobody gave notice of); null: the usual.
   */
  notNow?: (v: LifecycleVisit, rules: VisitRules) => string | null;
  who: (a: Actor, v: LifecycleVisit, rules: VisitRules) => boolean;
  /** What the person is told when `who` refuses them. */
  refusal: string | ((a: Actor, v: LifecycleVisit) => string);
  effect: (v: LifecycleVisit, rules: VisitRules) => Effect;
}

const none: Effect = { status: null, monitoring: 'none', clears: [], clearedAs: null };
const keep: Effect = { status: null, monitoring: 'keep', clears: [], clearedAs: null };

/**
 * Thames View 3.5 applies to the visit: the parent/carer gave notice they are running late, under a
 * pack that sets the lateness limit (without one, 3.4's wait is all there is).
 */
const lateNotice = (v: LifecycleVisit, r: VisitRules) =>
  v.parentSaidLate && r.appointments?.lateCancelAfterMinutes !== undefined;

/** The pack's authorisers, and (unless the pack allows it) not the person who asked for the visit. */
const authoriser = (a: Actor, v: LifecycleVisit, r: VisitRules) =>
  mayAuthorise(r, [...a.roles, ...a.positions]) && (r.authorisation.selfAuthorise || a.id !== v.requestedBy);

export const TRANSITIONS: Readonly<Record<VisitAction, Transition>> = {
  'assess-risk': {
    from: (v) => v.status === 'requested' || v.status === 'authorised',
    who: (a, _v, r) => mayAssessRisk(r, [...a.roles, ...a.positions]),
    refusal: 'the school’s policy names who assesses the risk of a visit',
    effect: () => none,
  },
  // Only where the school's policy asks for authorisation: offering it where the policy does not
  // would say more than the policy.
  authorise: {
    from: (v, r) =>
      v.status === 'requested' &&
      !v.dayPassed &&
      r.authorisation.required &&
      r.authorisation.mode === 'each-visit',
    who: authoriser,
    refusal: 'the school’s policy names who authorises visits (and not a visit you asked for yourself)',
    effect: () => ({ ...none, status: 'authorised' }),
  },
  'sign-list': {
    from: (v, r) =>
      v.status === 'requested' &&
      !v.dayPassed &&
      r.authorisation.required &&
      r.authorisation.mode === 'daily-list',
    who: authoriser,
    refusal: 'the school’s policy names who signs the day’s list',
    effect: () => ({ ...none, status: 'authorised' }),
  },
  // Visiting staff leave only on a visit they are on: on one nobody leads they say "I'll go on this
  // visit" first (`go-on-visit`), which shows them the pupil's flags and the family's contacts
  // (`seesPupilDetails`) before the departure form has them confirm they read them — taking the lead
  // on the form itself would have them confirm what they were never shown. The office, safeguarding
  // and admin (who see every visit's details) record a departure naming whoever goes.
  depart: {
    from: (v, r) => v.status === 'authorised' || (v.status === 'requested' && !r.authorisation.required),
    who: (a, v) => onVisit(a, v) || staffRole(a),
    refusal: (a, v) =>
      mayTake(a, v)
        ? "nobody leads this visit yet: say you are going on it first (I'll go on this visit), and read the pupil's flags and the family's contacts, before you leave"
        : 'this visit is not yours',
    effect: () => ({ status: 'departed', monitoring: 'start', clears: [], clearedAs: null }),
  },
  // "I have arrived" and "Check in: I am safe" are the worker's own word, from their phone. Someone
  // else (the office, who phoned them or was phoned) records it for them — its own action, so the
  // page offers it in the office's words, and the records say who recorded it, after speaking to
  // them ("the worker is safe: the office spoke to them"), never that the worker did it.
  arrive: {
    from: (v) => isOut(v) && v.status === 'departed' && v.arrivedAt === null,
    who: (a, v) => onVisit(a, v),
    refusal: 'only the people on the visit say they have arrived (the office records it for them)',
    effect: () => ({ ...keep, clears: ['missed_check_in'], clearedAs: 'worker_arrived' }),
  },
  'check-in': {
    from: (v) => isOut(v),
    who: (a, v) => onVisit(a, v),
    refusal: 'only the people on the visit check in (the office records a check-in for them)',
    effect: () => ({ ...keep, clears: ['missed_check_in'], clearedAs: 'worker_checked_in' }),
  },
  'record-arrival': {
    from: (v) => isOut(v) && v.status === 'departed' && v.arrivedAt === null,
    who: (a, v) => !onVisit(a, v) && staffRole(a),
    refusal: 'only the office records an arrival for the people on the visit, after speaking to them',
    effect: () => ({ ...keep, clears: ['missed_check_in'], clearedAs: 'worker_safe_contacted' }),
  },
  'record-check-in': {
    from: (v) => isOut(v),
    who: (a, v) => !onVisit(a, v) && staffRole(a),
    refusal: 'only the office records a check-in for the people on the visit, after speaking to them',
    effect: () => ({ ...keep, clears: ['missed_check_in'], clearedAs: 'worker_safe_contacted' }),
  },
  // The people on the visit set their own new time until the bound after someone else last confirmed
  // them (ownReturnTimeClosed) — whatever other role they hold; from then only the office, for them.
  'running-late': {
    from: (v) => isOut(v),
    who: (a, v) => (onVisit(a, v) ? !v.ownReturnTimeClosed : staffRole(a)),
    refusal: (a, v) =>
      onVisit(a, v) && v.ownReturnTimeClosed
        ? `you have been out more than ${MAX_RETURN_AHEAD_MINUTES / 60} hours since someone other than you last confirmed you safe: call the office, who set your new return time after speaking to you`
        : 'only the people on the visit, or the office for them, set a new return time',
    effect: () => ({ ...keep, clears: ['overdue_visit'], clearedAs: 'worker_safe_running_late' }),
  },
  help: {
    // When in doubt on the alarm path, raise: once the visit has left, "I need help" from the people
    // on it is never refused for the state it is in — out, or said back safe (perhaps by someone else,
    // perhaps hours ago, while they were still at the door).
    from: (v) => v.departedAt !== null,
    who: (a, v) => onVisit(a, v),
    refusal: 'only the people on the visit ask for help from it',
    // The alarm's own ladder watches the one who asked; the visit's watch is as it was.
    effect: (v) => (isOut(v) ? keep : none),
  },
  'back-safe': {
    from: (v) => isOut(v),
    who: (a, v) => onVisit(a, v) || staffRole(a),
    refusal: 'only the people on the visit, or the office after speaking to them, say they are back',
    effect: (v) => ({
      status: v.status === 'cancelled' ? null : v.outcomeRecorded ? 'completed' : 'returned',
      monitoring: 'end',
      clears: ['overdue_visit', 'missed_check_in', 'device_silent'],
      clearedAs: 'worker_safe',
    }),
  },
  // "I am still out" (the worker) / "Still out — watch again" (the office): back safe was said by
  // mistake. The watch starts again with a new return time (bounded as running late's) and the
  // check-in clock from now; status back to departed (a cancelled visit stays cancelled); an outcome
  // already recorded is kept — the visit is out again, as one whose outcome was typed at the door.
  'resume-watch': {
    from: (v) => v.departedAt !== null && v.returnedAt !== null && v.recentlyBack,
    who: (a, v) => onVisit(a, v) || staffRole(a),
    refusal: 'only the people on the visit, or the office for them, say they are still out',
    effect: (v) => ({
      status: v.status === 'cancelled' ? null : 'departed',
      monitoring: 'start',
      clears: [],
      clearedAs: null,
    }),
  },
  'record-outcome': {
    from: (v) => !v.outcomeRecorded && (v.status === 'returned' || (v.status === 'departed' && isOut(v))),
    who: (a, v) => onVisit(a, v) || staffRole(a),
    refusal: 'only the people on the visit, the office or safeguarding record its outcome',
    // Recording the outcome never ends the watch: only back-safe does.
    effect: (v) => ({
      ...keep,
      monitoring: isOut(v) ? 'keep' : 'none',
      status: isOut(v) ? null : 'completed',
    }),
  },
  // Thames View 3.5: "If the parents/carers have given prior notice that they are running late":
  // the people on the visit (a parent who phones them) or the office (who took the call) record it —
  // before the visit leaves, on the day it is planned for (the parent phones the school at 09:00
  // about a 10:00 visit), or while the worker is out: on the way, or at the door before 3.4's wait is
  // over (notice given once the worker has waited the 20 minutes is not prior notice: 3.4 has
  // applied). Once; a new day or time for the appointment withdraws it (the services clear it).
  'parent-running-late': {
    from: (v, r) =>
      r.appointments?.lateCancelAfterMinutes !== undefined &&
      !v.parentSaidLate &&
      (beforeLeavingToday(v) ||
        (isOut(v) &&
          v.status === 'departed' &&
          !v.outcomeRecorded &&
          (v.doorWaitMinutes ?? 0) < r.appointments.noAnswerAfterMinutes)),
    notNow: (v, r) => {
      const a = r.appointments;
      if (a?.lateCancelAfterMinutes === undefined) return null;
      const cannot = 'cannot record that the parent/carer is running late';
      if (v.parentSaidLate) return `${cannot}: it is already recorded`;
      if ((v.status === 'requested' || v.status === 'authorised') && v.departedAt === null)
        return v.dayPassed
          ? `${cannot}: the day the visit was planned for has passed`
          : `${cannot} yet: the visit is planned for a later day — record it on the day of the visit`;
      if (isOut(v) && v.status === 'departed' && !v.outcomeRecorded)
        return `${cannot}: the ${a.noAnswerAfterMinutes} minutes' wait at the door is over — notice must come before it (record no answer)`;
      return null;
    },
    who: (a, v) => onVisit(a, v) || staffRole(a),
    refusal:
      'only the people on the visit, or the office for them, record that the parent/carer said they are running late',
    // Out: the worker is watched as before. Before leaving: nothing to watch yet.
    effect: (v) => (isOut(v) ? keep : none),
  },
  // Thames View 3.4: "wait no longer than 20 minutes": from then the visit is recorded as "no
  // answer" (an outcome: no one home, child not seen) rather than left open; still watched. Not where
  // the parent said they are running late (3.5): the worker waits on, up to its limit.
  'no-answer': {
    from: (v, r) =>
      r.appointments !== undefined &&
      atTheDoor(v) &&
      !lateNotice(v, r) &&
      (v.doorWaitMinutes ?? 0) >= r.appointments.noAnswerAfterMinutes,
    notNow: (v, r) =>
      r.appointments !== undefined && atTheDoor(v) && lateNotice(v, r)
        ? `cannot record no answer: the parent/carer said they are running late — do not go in until they arrive; over ${r.appointments.lateCancelAfterMinutes} minutes late, cancel for a late parent`
        : null,
    who: (a, v) => onVisit(a, v) || staffRole(a),
    refusal: 'only the people on the visit, or the office for them, record no answer',
    effect: () => keep,
  },
  cancel: {
    from: (v) =>
      v.status === 'requested' ||
      v.status === 'authorised' ||
      (v.status === 'departed' && isOut(v) && !v.outcomeRecorded),
    who: (a, v) =>
      v.status === 'departed'
        ? onVisit(a, v) || staffRole(a)
        : staffRole(a) || a.id === v.requestedBy || a.id === v.leadUserId || has(a, 'safeguarding'),
    refusal: 'only whoever asked for the visit, its lead, the office or safeguarding may cancel it',
    // Cancelled while out: still watched until back safe.
    effect: (v) => ({ ...none, status: 'cancelled', monitoring: isOut(v) ? 'keep' : 'none' }),
  },
  // Thames View 3.5: a parent who said they are running late (`parent-running-late`) and is "over 30
  // minutes late": the visit is cancelled, the clause its reason; still watched until back safe.
  // Without that notice it is never offered: 3.4 applies (no answer).
  'parent-late-cancel': {
    from: (v, r) =>
      r.appointments?.lateCancelAfterMinutes !== undefined &&
      atTheDoor(v) &&
      v.parentSaidLate &&
      (v.doorWaitMinutes ?? 0) > r.appointments.lateCancelAfterMinutes,
    notNow: (v, r) =>
      r.appointments?.lateCancelAfterMinutes !== undefined && atTheDoor(v) && !v.parentSaidLate
        ? 'cannot cancel for a late parent: nobody recorded that the parent/carer said they are running late — without that notice the wait is 3.4’s (record no answer)'
        : null,
    who: (a, v) => onVisit(a, v) || staffRole(a),
    refusal: 'only the people on the visit, or the office for them, cancel for a late parent',
    effect: () => ({ ...keep, status: 'cancelled' }),
  },
  'reveal-safe-word': {
    from: (v) => isOut(v) && v.hasSafeWord,
    who: (a) => has(a, 'office', 'safeguarding'),
    refusal: 'only the office and safeguarding see the safe word',
    effect: (v) => (isOut(v) ? keep : none),
  },
  // The "sorry you weren't in" slip (time, who called, the office's number), left at the door by whoever
  // calls: the visiting staff, or the office printing it for them — before leaving too (an admin may
  // do what every role does). Not the safeguarding team's as such: a DSL who goes on a visit goes as
  // visiting staff. Changes nothing.
  'print-slip': {
    from: () => true,
    who: (a) => has(a, 'visiting-staff', 'office'),
    refusal: 'only the visiting staff, or the office for them, print the "sorry you weren\'t in" slip',
    effect: (v) => (isOut(v) ? keep : none),
  },
  // "Raise a concern now": during the visit or after it, a concern goes at once to the people the
  // school names and into its records — not only into the outcome. Changes nothing else.
  'raise-concern': {
    from: (v) => v.departedAt !== null && v.status !== 'requested' && v.status !== 'authorised',
    who: (a, v) => onVisit(a, v) || has(a, 'safeguarding'),
    refusal: 'only the people on the visit, or safeguarding, raise a concern from it',
    effect: (v) => (isOut(v) ? keep : none),
  },
  // Before leaving: how the family was told of the visit, or the exemption (the pack's words).
  'tell-family': {
    from: (v, r) =>
      r.familyNotice !== undefined && !v.dayPassed && (v.status === 'requested' || v.status === 'authorised'),
    who: (a, v) => staffRole(a) || a.id === v.requestedBy || onVisit(a, v) || mayTake(a, v),
    refusal:
      'only whoever asked for the visit, the staff on it, the office or safeguarding record how the family was told',
    effect: () => none,
  },
  // Before leaving: a visit on the way to or from work approved beforehand by whoever the pack
  // names (Hampton: the HoS), only where the pack asks. The approval is the named person's to give,
  // whoever asked: a head of school's own visit home is approved by the one who would approve it
  // (Hampton has one HoS; excluding the asker would leave such a visit waiting for nobody).
  'approve-commute': {
    from: (v, r) =>
      r.commute !== undefined &&
      v.commute &&
      // Whose journey it is, known before it is approved (a visit asked for on the way to work has
      // its lead from the start).
      v.leadUserId !== null &&
      !v.commuteApproved &&
      (v.status === 'requested' || v.status === 'authorised'),
    who: (a, _v, r) => mayApproveCommute(r, [...a.roles, ...a.positions]),
    refusal: 'the school’s policy names who approves a visit on the way to or from work',
    effect: () => none,
  },
  // After the authorisation: its approval outside the pack's hours, where the pack lets the
  // authoriser give one (Lime Hills: evenings "strongly recommended" against; King's: "unless approved
  // for exceptional circumstances") — for a visit authorised in hours whose time then slips (an
  // emergency, a family only in after work), which would otherwise have to be cancelled and asked
  // for again. By the pack's authorisers, as authorising is; once.
  'approve-out-of-hours': {
    from: (v, r) =>
      v.status === 'authorised' &&
      !v.outOfHoursApproved &&
      r.hours !== undefined &&
      (r.hours.mode === 'recommend' || r.hours.approvable === true),
    who: authoriser,
    refusal: 'the school’s policy names who approves a visit outside its hours: whoever authorises visits',
    effect: () => none,
  },
  // Before leaving: the appointment's time — Thames View 2.7's appointment record. (A new address
  // with it is also `change-address`.)
  'set-appointment': {
    from: (v) => v.status === 'requested' || v.status === 'authorised',
    who: (a, v) => staffRole(a) || a.id === v.requestedBy || a.id === v.leadUserId,
    refusal: 'only whoever asked for the visit, its lead, the office or safeguarding set its appointment',
    // Where the pack's risk assessment weighs the timing (King's), a new time is what a new address
    // is: what was authorised and assessed was another time, so the visit goes back for both.
    effect: (_v, rules) =>
      rules.risk.timing ? { ...none, status: 'requested', withdrawsApproval: true } : none,
  },
  // Before leaving, on a visit nobody leads: "I'll go on this visit". The same people as the departure
  // form's "who is going" (`leadOf`, src/visits/departure.ts): visiting staff take it as its lead
  // themselves; the office, safeguarding and admin name whoever goes (`mayNameLead`). Said before the
  // form, the pupil's flags and the family's contacts are shown to the lead (once the visit is
  // cleared to go) before they confirm they have read them — not only once out.
  'go-on-visit': {
    from: (v) =>
      (v.status === 'requested' || v.status === 'authorised') &&
      v.departedAt === null &&
      v.leadUserId === null,
    who: (a, v) => mayTake(a, v) || mayNameLead(a),
    refusal: 'only visiting staff go on a visit (the office names who goes)',
    effect: () => none,
  },
  // Before leaving: the lead is not going after all — the visit is nobody's again, for whoever goes.
  // Not a visit on the way to or from work: it is its lead's own journey, approved as such.
  'not-going': {
    from: (v) =>
      (v.status === 'requested' || v.status === 'authorised') &&
      v.departedAt === null &&
      v.leadUserId !== null &&
      !v.commute,
    who: (a, v) => a.id === v.leadUserId || staffRole(a),
    refusal: 'only its lead, the office or safeguarding say the lead is not going',
    effect: () => none,
  },
  // Before leaving: another day. A visit leaves only on the day it is planned for, and what it holds
  // was given for that day: the authorisation (Thames View's list is signed for its day), the risk
  // assessment and approvals, and the family's notice (they were told of that day) — all withdrawn,
  // as for a new address, back to `requested`. The way forward for a visit whose day passed (a
  // follow-up visit asked for today, a family who rang to rearrange), instead of cancelling it.
  'change-date': {
    from: (v) => v.status === 'requested' || v.status === 'authorised',
    who: (a, v) => staffRole(a) || a.id === v.requestedBy || a.id === v.leadUserId,
    refusal: 'only whoever asked for the visit, its lead, the office or safeguarding move it to another day',
    effect: () => ({ ...none, status: 'requested', withdrawsApproval: true }),
  },
  // Before leaving: a new address. The authorisation, the risk assessment and any out-of-hours or
  // commute approval were decisions about the old address (its flags, its household, the way there), so
  // they are withdrawn and the visit goes back to `requested`: nobody leaves for the new address
  // until the people the pack names have authorised (or signed) and assessed it again. Chosen over
  // refusing the change to all but an authoriser: the requester and the office are the people who
  // hear that a family has moved (Thames View 2.7 keeps a changed address as a new appointment
  // record), and the safety decision stays with the pack's authorisers and assessors, through the
  // same steps as any visit — no second, narrower path to keep in step with them.
  'change-address': {
    from: (v) => v.status === 'requested' || v.status === 'authorised',
    who: (a, v) => staffRole(a) || a.id === v.requestedBy || a.id === v.leadUserId,
    refusal: 'only whoever asked for the visit, its lead, the office or safeguarding change its address',
    effect: () => ({ ...none, status: 'requested', withdrawsApproval: true }),
  },
  // Thames View 4.2/4.3: a family did not keep an agreement made on the visit (the school's
  // attendance staff notice it afterwards): only for packs that say what follows, on a completed
  // visit whose outcome recorded agreements.
  'agreement-broken': {
    from: (v, r) => r.agreements !== undefined && v.status === 'completed' && v.agreements > 0,
    who: (a) => has(a, 'office', 'safeguarding'),
    refusal: 'only the office or safeguarding record a broken agreement',
    effect: () => none,
  },
  'follow-up-done': {
    from: (v) => v.status === 'completed' && v.childSeen === false && !v.followUpDone,
    who: (a) => has(a, 'safeguarding'),
    refusal: 'only the safeguarding team closes a child-not-seen follow-up',
    effect: () => none,
  },
};

/** Each action in plain words, as a refusal says it: "cannot <words>: …". */
const ACTION_WORDS: Readonly<Record<VisitAction, string>> = {
  'assess-risk': 'assess the risk',
  authorise: 'authorise the visit',
  'sign-list': 'sign the day’s list for the visit',
  depart: 'leave for the visit',
  arrive: 'say you have arrived',
  'check-in': 'check in',
  'record-arrival': 'record the arrival',
  'record-check-in': 'record a check-in',
  'running-late': 'set a new return time',
  help: 'ask for help from the visit',
  'back-safe': 'say back safe',
  'resume-watch': 'watch the worker again',
  'record-outcome': 'record the outcome',
  'parent-running-late': 'record that the parent/carer is running late',
  'no-answer': 'record no answer',
  cancel: 'cancel the visit',
  'parent-late-cancel': 'cancel for a late parent',
  'reveal-safe-word': 'show the safe word',
  'print-slip': 'print the "sorry you weren\'t in" slip',
  'follow-up-done': 'record the follow-up done',
  'raise-concern': 'raise a concern from the visit',
  'tell-family': 'record how the family was told',
  'approve-commute': 'approve the visit on the way to or from work',
  'approve-out-of-hours': 'approve the visit outside the hours',
  'set-appointment': 'set the appointment',
  'go-on-visit': 'say who goes on the visit',
  'not-going': 'take the lead off the visit',
  'change-date': 'move the visit to another day',
  'change-address': 'change the address',
  'agreement-broken': 'record an agreement as not kept',
};

/** Where the visit stands, in plain words, for a refusal that has nothing more particular to say. */
function standing(v: LifecycleVisit): string {
  if (isOut(v))
    return v.status === 'cancelled'
      ? 'the visit is cancelled, and the worker is still out until back safe'
      : v.outcomeRecorded
        ? 'its outcome is recorded, and the worker is still out until back safe'
        : v.arrivedAt
          ? 'the worker is at the door'
          : 'the worker is on the way';
  switch (v.status) {
    case 'requested':
      return 'the visit has not left yet';
    case 'authorised':
      return 'the visit is authorised and has not left yet';
    case 'returned':
      return 'the worker is back safe (the outcome is not recorded yet)';
    case 'completed':
      return 'the visit is completed';
    case 'cancelled':
      return 'the visit is cancelled';
    default:
      return 'the worker has left for the visit';
  }
}

/** What is given for the visit's day, and so not once that day has gone by. */
const DAY_BOUND: readonly VisitAction[] = ['authorise', 'sign-list', 'tell-family'];

export type Decision = { ok: true; effect: Effect } | { ok: false; why: 'state' | 'who'; message: string };

/** Whether `actor` may do `action` to the visit now, and what it does. */
export function decide(action: VisitAction, v: LifecycleVisit, actor: Actor, rules: VisitRules): Decision {
  const t = TRANSITIONS[action];
  if (!t.from(v, rules))
    return {
      ok: false,
      why: 'state',
      message:
        t.notNow?.(v, rules) ??
        (v.dayPassed && DAY_BOUND.includes(action) && t.from({ ...v, dayPassed: false }, rules)
          ? `cannot ${ACTION_WORDS[action]}: the day the visit was planned for has passed — move it to a new day first`
          : action === 'resume-watch' && v.returnedAt !== null && !v.recentlyBack
            ? `cannot ${ACTION_WORDS[action]}: back safe was recorded more than ${RESUME_WATCH_MINUTES / 60} hours ago — anyone still out phones the office, who asks for a new visit`
            : `cannot ${ACTION_WORDS[action]}: ${standing(v)}`),
    };
  if (!t.who(actor, v, rules))
    return {
      ok: false,
      why: 'who',
      message: typeof t.refusal === 'function' ? t.refusal(actor, v) : t.refusal,
    };
  return { ok: true, effect: t.effect(v, rules) };
}

/** Every action `actor` may take on the visit now (what the pages offer). */
export function allowedActions(v: LifecycleVisit, actor: Actor, rules: VisitRules): VisitAction[] {
  return VISIT_ACTIONS.filter((a) => decide(a, v, actor, rules).ok);
}
