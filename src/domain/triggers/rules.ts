import * as z from 'zod';
import { CODES } from '../attendance/codes.ts';
import { laddersByKind, packEscalationPolicy } from '../escalation/ladder.ts';
import { visitRules } from '../visits/rules.ts';

/**
 * The rule model of a policy pack (YAML, validated here). Every rule says what it detects, the
 * action it recommends and the role that acts; numbers come from the school's written policy and a
 * school's config may override them.
 */
export const ACTIONS = [
  'phone-call',
  'home-visit',
  'la-notification',
  'follow-up-visit',
  'removal-from-roll-review',
  'attendance-meeting',
  'missing-education-check',
] as const;
export type Action = (typeof ACTIONS)[number];

export const FLAGS = ['cpPlan', 'cin', 'lac', 'senEhcp', 'youngCarer', 'welfareConcern'] as const;
export type Flag = (typeof FLAGS)[number];

const code = z.string().refine((c) => CODES.has(c), { error: 'expected a statutory attendance code' });
const role = z
  .string()
  .regex(/^[a-z][a-z-]*$/, { error: 'expected a role id such as attendance-officer or dsl' });

const base = {
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'expected a rule id of lower-case letters, digits and -' }),
  title: z.string().min(1),
  action: z.enum(ACTIONS),
  role,
  /** Where the rule comes from: the policy clause or regulation. */
  source: z.string().min(1),
  /** Settings of this rule whose values are the school's own choice, not the policy's, and why. */
  setBySchool: z.record(z.string(), z.string().min(1)).optional(),
  /**
   * Still judged once the pupil has left the roll for a known destination: a duty for their time on
   * this roll (the law's 10-day return, `N` deadline, illness return). Every other rule — a school's
   * visits and calls, the removal-from-roll review, the absence measures — is not: the pupil is the
   * destination's now (`left-roll` rules judge the leaving itself).
   */
  afterLeaving: z.boolean().default(false),
};

export const consecutiveAbsenceRule = z.strictObject({
  ...base,
  kind: z.literal('consecutive-absence'),
  /** School days in a row, ending with the latest day that has a mark, on which the pupil was absent. */
  days: z.int().min(1),
  /** Codes that count as absent (default: every authorised and unauthorised absence code). */
  codes: z.array(code).min(1).optional(),
  /** Only pupils with any of these flags. */
  flags: z.array(z.enum(FLAGS)).min(1).optional(),
  /** Only when no absent day has a reason recorded (every absent session N or O): "no response". */
  noReasonRecorded: z.boolean().default(false),
  /**
   * Only when the latest absent day has no reason recorded (every absent session N or O): contact
   * unanswered now. The run itself counts every absent day, reasoned or not (Lime Hills: "absent …
   * for a week or more, and attempts to contact parents/carers have not elicited a response").
   */
  noReasonOnLatestDay: z.boolean().default(false),
  /**
   * A run that has ended still counts (a return to make, not a child to find): any run of `days` this
   * academic year fires — the latest — until the year ends, one episode per run. A run seen only after
   * the pupil was back (ill days recoded as a holiday, a weekly import) was never prompted.
   */
  afterReturn: z.boolean().default(false),
  /**
   * A day the pupil was not expected at, or could not attend (`C2`, `S`, `D`, `Y1`–`Y7`, …) — see
   * `NotExpectedDays`: passed over (the default), counted once the absence has begun, while it goes
   * on (`count-inside`), or the
   * end of a run of continuous unauthorised absence (`end-on-authorised`) or of every session in the
   * rule's codes (`end-on-any`).
   */
  sessionsNotExpected: z
    .enum(['pass-over', 'count-inside', 'end-on-authorised', 'end-on-any'])
    .default('pass-over'),
  /**
   * Counted in sessions (the statutory returns' "N school days" of continuous absence), across day
   * boundaries, each session its share of the pupil's possible sessions that day: a day whose
   * possible sessions all count is one school day whether it has two or one (a morning absent with
   * the afternoon `D` or `X`, not possible, is a whole day); one of two is half a day — nine days and
   * a morning are not 10 school days; an absence from a Monday afternoon to the Tuesday-week morning
   * is. A session with no mark — today's afternoon before its register is taken, or a past one an
   * export missed — is possible but neither counts nor ends the run (as a day with no mark does for
   * the visit triggers; more than a week of days with no mark at all ends it), so the morning alone
   * is half the day. Unset: school days, a day whose afternoon is not yet marked counting by its
   * morning (the visit triggers).
   */
  countSessions: z.boolean().default(false),
  /**
   * When a parent/carer gave a reason for each day of the run (every absent session coded with one
   * of `reasonCodes`), the pupil has no safeguarding flag and no attendance concern, this lighter
   * action applies instead (Heath Lane §3: a phone call rather than a visit).
   */
  whenReasonedEachDay: z
    .strictObject({
      action: z.enum(ACTIONS),
      role,
      /** Codes whose reason a parent gives (default: `C`, `C1`, `I`, `J1`, `M`, `R`, `T`; see the README). */
      reasonCodes: z.array(code).min(1).optional(),
      /**
       * An attendance concern: attendance this academic year, before the run began, at most this
       * (0.9: persistent absence, the DfE definition). Unset: only the safeguarding flags count.
       */
      attendanceConcernAtMost: z.number().gt(0).lt(1).optional(),
      /** Too few possible sessions before the run say nothing about a concern. */
      attendanceConcernMinSessions: z.int().min(1).default(20),
      /**
       * The most days of absence the lighter action addresses (Heath Lane: "a phone call home to
       * address 3 days of absence"); more, the rule's own action. Days the school arranged the pupil
       * out of (`C2`, `S`) that the run counts (`count-inside`) are no absence. Unset: any length.
       */
      upToDays: z.int().min(1).optional(),
      /** Fields whose values are the school's own choice, not the policy's, and why. */
      setBySchool: z.record(z.string(), z.string().min(1)).optional(),
      source: z.string().optional(),
    })
    .optional(),
});

/** The fewest possible sessions a rate is judged on where the rule names none (`minSessions`). */
export const RATE_MIN_SESSIONS = 20;

export const attendanceRateRule = z.strictObject({
  ...base,
  kind: z.literal('attendance-rate'),
  /** Fires when the rate is below (or, with inclusive, at most) this. 0.9 = 90%. */
  threshold: z.number().gt(0).lt(1),
  inclusive: z.boolean().default(false),
  /** The window: calendar months back from today, or the academic year to date. */
  window: z.union([z.strictObject({ months: z.int().min(1).max(12) }), z.literal('academic-year')]),
  /** Too few possible sessions say nothing (early September). */
  minSessions: z.int().min(1).default(RATE_MIN_SESSIONS),
  /**
   * "Over the course of three months": only a pupil whose register covers the whole window is judged
   * — on roll (any mark but `Z`) on or before its first school day and in its first school week, as
   * the register itself says (a pupil who joined in September is not judged on a window that opens
   * in July). Its evidence's `from` is never before the pupil's first day on roll.
   */
  wholeWindow: z.boolean().default(false),
});

export const unresolvedCodeRule = z.strictObject({
  ...base,
  kind: z.literal('unresolved-code'),
  code: code.default('N'),
  /** School days after which the code must have been replaced. */
  afterSchoolDays: z.int().min(1),
});

export const cumulativeAbsenceRule = z.strictObject({
  ...base,
  kind: z.literal('cumulative-absence'),
  codes: z.array(code).min(1),
  /**
   * School days in the academic year, consecutive or not: each day its sessions in `codes` over the
   * pupil's possible sessions that day (a morning coded with the afternoon `D` or `X` is a day).
   */
  days: z.number().positive(),
  /**
   * Once the year's total is reached, one episode (and note) per continuous period of these codes:
   * "one return per continuous period" (the illness return). Unset: one episode for the year.
   */
  perPeriod: z.boolean().default(false),
});

export const repeatedPatternRule = z.strictObject({
  ...base,
  kind: z.literal('repeated-pattern'),
  /** Codes that count as absent, this year and a year earlier (default: every absence code but `U`). */
  codes: z.array(code).min(1).optional(),
  /**
   * Codes that count as absent a year earlier when they differ from this year's (Heath Lane: a
   * holiday last year, `G`, is the pattern; this year's `G` is a holiday already known, not one
   * "contrary to reasons given").
   */
  lastYearCodes: z.array(code).min(1).optional(),
  /** Recent school days looked at. */
  recentSchoolDays: z.int().min(1).default(10),
  /** Absent days among them that fall in a week the pupil was also absent a year earlier. */
  minDays: z.int().min(1).default(2),
});

export const illnessDuringRefusedLeaveRule = z.strictObject({
  ...base,
  kind: z.literal('illness-during-refused-leave'),
  codes: z.array(code).min(1).default(['I']),
  /** Only refusals whose period reaches into the last this-many school days (so an episode ends). */
  recentSchoolDays: z.int().min(1).default(20),
});

/**
 * A pupil taken off roll (the MIS says they left: an Arbor student deleted, a Wonde deletion, a
 * leaving date in a file export) → a children-missing-education check: is the destination known
 * (the next school has them on roll), and if not, the local authority is told. Raised once per
 * leaving, while the leaving date is at most `withinDays` calendar days old (so a first sync that
 * brings years of old leavers raises nothing for them).
 */
export const leftRollRule = z.strictObject({
  ...base,
  kind: z.literal('left-roll'),
  withinDays: z.int().min(1).max(366),
});

export const rule = z.discriminatedUnion('kind', [
  consecutiveAbsenceRule,
  attendanceRateRule,
  unresolvedCodeRule,
  cumulativeAbsenceRule,
  repeatedPatternRule,
  illnessDuringRefusedLeaveRule,
  leftRollRule,
]);
export type Rule = z.output<typeof rule>;

/**
 * Whether an open episode's recommended action rises from `from` to `to` under this rule: from the
 * lighter action the rule allows (`whenReasonedEachDay`, Heath Lane's phone call) to the rule's own
 * (the home visit). The levels are the pack's, not a ranking Doorstep invents.
 */
export function responseRises(r: Rule, from: string, to: string): boolean {
  return (
    r.kind === 'consecutive-absence' &&
    r.whenReasonedEachDay !== undefined &&
    from !== to &&
    from === r.whenReasonedEachDay.action &&
    to === r.action
  );
}

export const policyPack = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  title: z.string().min(1),
  /** The written policy or regulation it expresses. */
  source: z.string().min(1),
  /** May be empty: a policy can set visit rules only (e.g. Hampton), with no attendance trigger. */
  rules: z.array(rule),
  /** The policy's rules for making a visit (authorisation, pairs, check-ins, hours…). */
  visits: visitRules.optional(),
  /**
   * Escalation ladders the policy itself gives (Hampton: overdue → worker, location, school, police),
   * each with its `source`. A school's own `escalation` in its config wins over its packs'.
   */
  escalation: laddersByKind(packEscalationPolicy).optional(),
  /**
   * Who the policy says hears of what (Thames View 3.8: cancellations to the headteacher in writing;
   * Heath Lane: incidents of aggression to the safeguarding manager and attendance line manager;
   * Hampton: each visit planned, with its date and time, to the head of school and the office):
   * per notice kind of the school config's `notices`, the people named and the clause. The school's
   * config names how to reach them; `doorstep check` and the data page warn while it does not.
   */
  notices: z
    .partialRecord(
      z.enum([
        'childNotSeen',
        'planned',
        'cancelled',
        'changed',
        'concern',
        'incident',
        'arrived',
        'outcomeMissing',
        'visitRecord',
      ]),
      z.strictObject({ who: z.array(z.string().min(1)).min(1), source: z.string().min(1) }),
    )
    .optional(),
});
export type PolicyPack = z.output<typeof policyPack>;
