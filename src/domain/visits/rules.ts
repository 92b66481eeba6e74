import * as z from 'zod';
import { ROLES_AND_POSITIONS } from '../roles.ts';

/** A name no account can hold would leave a step nobody may take (every visit blocked): refused. */
const who = `expected a role or position an account can hold: ${ROLES_AND_POSITIONS.join(', ')}`;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time as HH:MM (24-hour)' });

/** The ways a family may be told of a visit before it. */
export const FAMILY_NOTICE_METHODS = ['letter', 'phone', 'sms', 'in-person', 'written-confirmation'] as const;

/**
 * What the visit is told an exemption is by those the pupil's details are withheld from
 * (`seesPupilDetails`): whether one applies, never which — its name says what the pupil's records
 * show ("persistent absence", "missing education"). Sent back as the exemption recorded, it records
 * the one that applies. No policy's exemption may take the name.
 */
export const POLICY_EXEMPTION = 'allowed-by-policy';

const exemptionId = z
  .string()
  .regex(/^[a-z][a-z-]*$/)
  .refine((id) => id !== POLICY_EXEMPTION, {
    error: `'${POLICY_EXEMPTION}' is what the visit page says in place of an exemption to those the pupil's details are withheld from: name the exemption otherwise`,
  });
/**
 * A reason the policy gives to visit without telling the family first. It may rest on what the
 * pupil's records show: `openTriggers` (rule keys, `pack:rule`) — one of those triggers open for the
 * pupil; `offRollUnknownDestination` — the pupil has left the roll (a leaving date on or before the
 * day) with no destination known, the DfE's child missing education. With both, either is enough.
 * King's exempts "persistent absenteeism or children missing in education", which the records show;
 * a bare id applies whenever it is recorded.
 */
const familyNoticeExemption = z
  .union([
    exemptionId.transform((id) => ({ id })),
    // No transform on this branch: an issue inside it (an unknown key) is then reported as itself,
    // not as a union no branch of which matched.
    z
      .strictObject({
        id: exemptionId,
        openTriggers: z
          .array(
            z
              .string()
              .regex(/^[a-z0-9][a-z0-9-]*:[a-z0-9][a-z0-9-]*$/, { error: 'expected a rule key, pack:rule' }),
          )
          .min(1)
          .optional(),
        offRollUnknownDestination: z.boolean().optional(),
        source: z.string().optional(),
      })
      .refine((x) => x.openTriggers !== undefined || x.offRollUnknownDestination === true, {
        error:
          "expected openTriggers, offRollUnknownDestination: true, or both (what the pupil's records must show); an exemption that always applies is written as its id alone",
      }),
  ])
  .transform((x) => ({
    ...x,
    openTriggers: 'openTriggers' in x ? (x.openTriggers ?? []) : [],
    offRollUnknownDestination:
      'offRollUnknownDestination' in x ? x.offRollUnknownDestination === true : false,
  }));
export type FamilyNoticeExemption = z.output<typeof familyNoticeExemption>;
export type FamilyNoticeMethod = (typeof FAMILY_NOTICE_METHODS)[number];

/**
 * What a school's written policy asks of a home visit: who authorises it (each visit, or the day's
 * list signed at once), whether staff go in pairs, check-in interval, when an overdue visit becomes
 * an alarm, the safe word, the hours visits may be made, and what risk level rules a visit out.
 * Part of a policy pack (`visits:`); the last pack of a school that sets it wins.
 */
export const visitRules = z.strictObject({
  authorisation: z
    .strictObject({
      required: z.boolean().default(false),
      /** Roles or positions that may authorise (e.g. safeguarding, dsl, associate-head, headteacher). */
      by: z.array(z.enum(ROLES_AND_POSITIONS, { error: who })).default([]),
      /** `each-visit`: one authorisation per visit; `daily-list`: the day's list is signed at once. */
      mode: z.enum(['each-visit', 'daily-list']).default('each-visit'),
      /** Whether whoever asked for a visit may authorise it themselves (no policy says so: default no). */
      selfAuthorise: z.boolean().default(false),
      source: z.string().optional(),
    })
    .default({ required: false, by: [], mode: 'each-visit', selfAuthorise: false }),
  /**
   * Who assesses the risk level and when: at the request (the requester, if they are an assessor),
   * at authorisation (the authoriser sets it), or as a separate step before leaving. Only an assessor
   * sets or changes it (with a reason, audited); a requester's level is a proposal until then.
   */
  risk: z
    .strictObject({
      assessedBy: z
        .array(z.enum(ROLES_AND_POSITIONS, { error: who }))
        .min(1)
        .default(['safeguarding']),
      at: z.enum(['request', 'authorisation', 'separate']).default('request'),
      /**
       * The assessment weighs when the visit happens (King's: "considering known risks related to
       * the family, location, and timing"): a time set or changed after it was made sends the visit
       * back to be authorised and assessed again, as a new address does in every pack.
       */
      timing: z.boolean().default(false),
      /** Settings whose values are the school's own choice, not the policy's, and why. */
      setBySchool: z.record(z.string(), z.string().min(1)).optional(),
      source: z.string().optional(),
    })
    .default({ assessedBy: ['safeguarding'], at: 'request', timing: false }),
  /** `always`: two staff, enforced; `when-risk`: two when risk is minor or above; `where-possible`: a warning only. */
  pairs: z.enum(['always', 'when-risk', 'where-possible', 'optional']).default('optional'),
  /**
   * Heath Lane: "If alone on a home visit do not enter the property." A worker going alone is told so
   * before leaving and on the phone page while out (a reminder: nothing can enforce it at the door).
   */
  aloneNoEntry: z.strictObject({ source: z.string().optional() }).optional(),
  /** A risk level at which the visit must not go ahead at all. */
  refuseAtRisk: z.enum(['minor', 'major']).optional(),
  /**
   * Check in at least every N minutes while out (a missed check-in raises an alarm). A maximum: the
   * worker may choose a shorter interval, never a longer one.
   */
  checkInMinutes: z.int().min(5).max(240).optional(),
  /** Minutes after a check-in falls due before the alarm (0 unless the school sets one). */
  checkInGraceMinutes: z.int().min(0).max(60).default(0),
  /** The worker tells the office they have arrived within N minutes of leaving (a missed arrival is an alarm). */
  arrivalCheckInMinutes: z.int().min(5).max(240).optional(),
  /** What must be recorded before leaving. */
  requires: z
    .strictObject({
      /** A phone number the office can reach the worker on (every policy asks staff to carry one). */
      phone: z.boolean().default(true),
      /** A lone-worker fob registered to the worker (Heath Lane: "Collect a PeopleSafe fob"). */
      fob: z.boolean().default(false),
      /**
       * Vehicle make, model, registration and colour, or "on foot" (Thames View 2.9); a vehicle with
       * the worker's confirmation that it has "the required up-to-date insurance".
       */
      vehicle: z.boolean().default(false),
      /**
       * The estimated arrival time, told to the office when leaving (King's Gomer: "Staff must inform
       * the school office of their estimated arrival and departure times"). Information for the
       * office: no alarm hangs on it (the policy names none).
       */
      arrivalEstimate: z.boolean().default(false),
      /**
       * The staff confirm they carry identification (Hampton: "All staff should have identification
       * badges on show at all times"; King's Gomer: "carry photo identification").
       */
      identification: z.boolean().default(false),
    })
    .default({ phone: true, fob: false, vehicle: false, arrivalEstimate: false, identification: false }),
  /** Minutes after the expected return before the overdue alarm is raised (its ladder does the rest). */
  overdueGraceMinutes: z.int().min(0).max(240).default(0),
  safeWord: z.enum(['required', 'optional']).default('optional'),
  /** Departures allowed only in these hours (Europe/London), e.g. no evening visits. */
  hours: z
    .strictObject({
      from: hhmm,
      to: hhmm,
      /**
       * `require`: no visit outside these hours (unless `approvable` and the authoriser approved it);
       * `recommend`: outside them is a warning, and the visit needs the authoriser's explicit,
       * recorded approval (Lime Hills: "strongly recommended that no one makes an evening home visit").
       */
      mode: z.enum(['require', 'recommend']).default('require'),
      /** Whether the authoriser may approve a visit outside required hours (Gomer: yes). */
      approvable: z.boolean().default(false),
      /**
       * The hours are a working day's: a weekend, or a day the school's calendar closes to staff (a
       * holiday or bank holiday — not an INSET day, when staff are at work: `staffClosedDay` in
       * src/visits/departure.ts), is outside them whatever the time (Gomer: "regular working hours").
       */
      workingDaysOnly: z.boolean().default(false),
      /** The clause the hours come from. */
      source: z.string().optional(),
      /** Times the policy does not give (`from`, `to`): the school's own choice, and why. */
      setBySchool: z.record(z.string(), z.string().min(1)).optional(),
    })
    .optional(),
  /** What the staff going must have (from their account's training records). */
  competence: z
    .strictObject({
      /** Every worker has had home-visit training (Heath Lane: "training and induction … prior to … first home visit"). */
      homeVisitTraining: z.boolean().default(false),
      /** A first home visit only with an experienced partner (Heath Lane: "accompanied by experienced member of staff"). */
      firstVisitWithExperienced: z.boolean().default(false),
      /** At least one of those going is trained in safeguarding (King's: "at least one member … trained in safeguarding"). */
      safeguardingTrainedMember: z.boolean().default(false),
      source: z.string().optional(),
    })
    .default({
      homeVisitTraining: false,
      firstVisitWithExperienced: false,
      safeguardingTrainedMember: false,
    }),
  /**
   * Appointments (Thames View 2.6, 3.4/3.5): whether a visit leaves only once its appointment's time
   * is recorded, and the waits at the door — counted from the appointment's time where the visit has
   * one, else from the arrival the worker records on the phone page (`doorWaitMinutes`).
   */
  appointments: z
    .strictObject({
      /** 2.6 "never enter the home of a pupil unless an appointment has been made": no leaving without its time. */
      required: z.boolean().default(false),
      /** 3.4 "wait no longer than 20 minutes": from then the visit is recorded as "no answer". */
      noAnswerAfterMinutes: z.int().min(1).max(120),
      /** 3.5 a parent who said they are running late: "over 30 minutes late" cancels the visit. */
      lateCancelAfterMinutes: z.int().min(1).max(240).optional(),
      /** Fields whose values are the school's own choice, not the policy's, and why. */
      setBySchool: z.record(z.string(), z.string().min(1)).optional(),
      source: z.string().optional(),
    })
    .optional(),
  /**
   * Visits on the way to work (from home) or home from work: allowed only with the prior approval of
   * whoever `approvalBy` names (Hampton: "should not occur without prior approval of the HoS").
   */
  commute: z
    .strictObject({
      approvalBy: z.array(z.enum(ROLES_AND_POSITIONS, { error: who })).min(1),
      source: z.string().optional(),
    })
    .optional(),
  /**
   * Telling the family before the visit: `required` blocks leaving until it is recorded (or an
   * exemption the policy names applies); `where-possible` warns. `methods` are the ways the policy
   * names (Hampton: in writing; Heath Lane: a text; Lime Hills: a phone call or a letter; Thames View
   * 2.6: a written confirmation of the appointment).
   */
  familyNotice: z
    .strictObject({
      expect: z.enum(['required', 'where-possible']),
      methods: z.array(z.enum(FAMILY_NOTICE_METHODS)).min(1),
      /** Reasons to visit without telling the family first (e.g. persistent absence, missing education). */
      exemptions: z.array(familyNoticeExemption).default([]),
      source: z.string().optional(),
    })
    .optional(),
  /**
   * Thames View 2.7 "Appointment records must include the time and location along with the name of
   * the pupil on CPOMS": once a visit is booked (authorised, or needing no authorisation, with its
   * appointment time), an appointment record goes to the school's record sinks; a change to the time
   * or address after that is a new record, and a cancellation is one too (3.6: changes are notified).
   */
  appointmentRecords: z.strictObject({ source: z.string().optional() }).optional(),
  /**
   * Records the policy puts on CPOMS by name — Heath Lane "log the outcome of their home visits through
   * CPOMs", King's "submit the report via CPOMS", Lime Hills "Complete Home Visit log on CPOMS",
   * Thames View 4.1 agreements "kept in the pupil's CPOMS account", Hampton "log these concerns using
   * CPOMS": `doorstep check` and the data page say when the school's sinks send one of these kinds
   * elsewhere (Arbor only, say) — the record exists, but not where the policy says staff will look.
   */
  cpomsRecords: z
    .strictObject({
      kinds: z
        .array(z.enum(['visit_outcome', 'visit_concern', 'lone_worker_incident', 'follow_up_done']))
        .min(1),
      source: z.string().optional(),
    })
    .optional(),
  /**
   * Heath Lane: dangerous people or houses are "logged on CPOMS and as a pastoral note on Arbor front
   * page of student": an address flag's record must reach both a `cpoms` and an `arbor-pastoral`
   * sink (`doorstep check` says when the school's sinks do not).
   */
  addressFlagRecords: z
    .strictObject({ on: z.array(z.enum(['cpoms', 'arbor-pastoral'])).min(1), source: z.string().optional() })
    .optional(),
  /**
   * Thames View 4.2/4.3: what happens when a family does not keep an agreement made on a visit. Each
   * broken agreement, recorded against the visit's outcome, asks for a reminder letter (4.2) and a
   * note in the pupil's attendance record (4.3); "continued failure" — the `followUpVisitAfter`th
   * breach of the visit's agreements — asks for a follow-up visit.
   */
  agreements: z
    .strictObject({
      reminderLetter: z.boolean().default(false),
      attendanceNote: z.boolean().default(false),
      followUpVisitAfter: z.int().min(1).max(10).optional(),
      setBySchool: z.record(z.string(), z.string().min(1)).optional(),
      source: z.string().optional(),
    })
    .optional(),
  /** Settings of this section whose values are the school's own choice, not the policy's, and why. */
  setBySchool: z.record(z.string(), z.string().min(1)).optional(),
  source: z.string().optional(),
});
export type VisitRules = z.output<typeof visitRules>;

export const DEFAULT_VISIT_RULES: VisitRules = visitRules.parse({});

export type RiskLevel = 'low' | 'minor' | 'major';

/** Risk levels in order, low to major. */
export const RISK_ORDER: Record<RiskLevel, number> = { low: 0, minor: 1, major: 2 };

/**
 * Whether a person with these roles and positions may authorise visits under the rules: exactly the
 * roles or positions the pack names (the safeguarding team where it names none). Admin is not an
 * authoriser unless it also holds one of them.
 */
export function mayAuthorise(rules: VisitRules, rolesAndPositions: readonly string[]): boolean {
  const by = rules.authorisation.by.length ? rules.authorisation.by : ['safeguarding'];
  return by.some((r) => rolesAndPositions.includes(r));
}

/** Whether a person may approve a visit on the way to or from work under the rules (none may where the pack says nothing). */
export function mayApproveCommute(rules: VisitRules, rolesAndPositions: readonly string[]): boolean {
  return (rules.commute?.approvalBy ?? []).some((r) => rolesAndPositions.includes(r));
}

/** Whether a person may assess (set or change) a visit's risk level under the rules. */
export function mayAssessRisk(rules: VisitRules, rolesAndPositions: readonly string[]): boolean {
  return rules.risk.assessedBy.some((r) => rolesAndPositions.includes(r));
}

/** The lowest risk level an address flag allows: a dangerous address is major, a caution minor. */
export function flagMinimum(flags: readonly { level: string }[]): RiskLevel {
  if (flags.some((f) => f.level === 'dangerous')) return 'major';
  if (flags.some((f) => f.level === 'caution')) return 'minor';
  return 'low';
}

/**
 * The address flags recorded since the visit's risk was assessed (Thames View 2.5: a new risk amends
 * the assessment before the visit): those the assessment was not made with, or — assessed before
 * Doorstep kept which — those stamped after it. None while it is not assessed.
 */
export function flagsSinceAssessed<F extends { id: string; createdAt: Date }>(
  flags: readonly F[],
  assessment: { at: Date | null; flagIds: readonly string[] | null },
): F[] {
  const { at, flagIds } = assessment;
  if (at === null) return [];
  if (flagIds === null) return flags.filter((f) => f.createdAt > at);
  const weighed = new Set(flagIds);
  return flags.filter((f) => !weighed.has(f.id));
}

/** The higher of two risk levels. */
export function higherRisk(a: RiskLevel, b: RiskLevel): RiskLevel {
  return RISK_ORDER[a] >= RISK_ORDER[b] ? a : b;
}
