import * as z from 'zod';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time as HH:MM (24-hour)' });

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
      by: z.array(z.string().regex(/^[a-z][a-z-]*$/)).default([]),
      /** `each-visit`: one authorisation per visit; `daily-list`: the day's list is signed at once. */
      mode: z.enum(['each-visit', 'daily-list']).default('each-visit'),
      source: z.string().optional(),
    })
    .default({ required: false, by: [], mode: 'each-visit' }),
  /** `always`: two staff, enforced; `when-risk`: two when risk is minor or above; `where-possible`: a warning only. */
  pairs: z.enum(['always', 'when-risk', 'where-possible', 'optional']).default('optional'),
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
      /** Vehicle make, model, registration and colour, or "on foot" (Thames View 2.9). */
      vehicle: z.boolean().default(false),
    })
    .default({ phone: true, fob: false, vehicle: false }),
  /** Minutes after the expected return before the overdue alarm is raised (its ladder does the rest). */
  overdueGraceMinutes: z.int().min(0).max(240).default(0),
  safeWord: z.enum(['required', 'optional']).default('optional'),
  /** Departures allowed only in these hours (Europe/London), e.g. no evening visits. */
  hours: z
    .strictObject({
      from: hhmm,
      to: hhmm,
      /** Whether the authoriser may approve a visit outside these hours (Gomer: yes; Lime Hills' "no evening visits": no). */
      approvable: z.boolean().default(false),
    })
    .optional(),
  /** Wait at most this long for a parent at the door before cancelling (Thames View: 20). */
  maxWaitMinutes: z.int().min(1).max(120).optional(),
  source: z.string().optional(),
});
export type VisitRules = z.output<typeof visitRules>;

export const DEFAULT_VISIT_RULES: VisitRules = visitRules.parse({});

export type RiskLevel = 'low' | 'minor' | 'major';

export interface DepartureFacts {
  status: string;
  riskLevel: RiskLevel;
  partner: boolean;
  safeWord: string | null;
  /** Minutes after midnight, Europe/London. */
  londonMinutes: number;
  expectedReturnAt: Date | null;
  now: Date;
  /** The authoriser approved this visit outside the policy's hours. */
  outOfHoursApproved?: boolean;
  /** The check-in interval the worker chose (null: the policy's). */
  checkInMinutes?: number | null;
  /** A phone number for the worker (their account's or typed at departure). */
  phone?: boolean;
  /** A fob registered to the worker. */
  fob?: boolean;
  /** Vehicle details given, or "on foot". */
  vehicle?: boolean;
}

export interface Finding {
  level: 'block' | 'warn';
  rule: string;
  message: string;
}

const RISK_ORDER: Record<RiskLevel, number> = { low: 0, minor: 1, major: 2 };

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** What stands between a visit and its departure under the school's rules. Pure. */
export function departureFindings(rules: VisitRules, v: DepartureFacts): Finding[] {
  const out: Finding[] = [];
  if (v.status !== 'authorised' && !(v.status === 'requested' && !rules.authorisation.required))
    out.push({
      level: 'block',
      rule: 'authorisation',
      message:
        v.status === 'requested'
          ? `the visit must be authorised first (by ${rules.authorisation.by.join(' or ')}${rules.authorisation.mode === 'daily-list' ? ", signing the day's list" : ''})`
          : `a visit that is ${v.status} cannot depart`,
    });
  if (rules.refuseAtRisk && RISK_ORDER[v.riskLevel] >= RISK_ORDER[rules.refuseAtRisk])
    out.push({
      level: 'block',
      rule: 'risk',
      message: `risk is ${v.riskLevel}: the policy says no visit at this level`,
    });
  const pairsNeeded =
    rules.pairs === 'always' || (rules.pairs === 'when-risk' && RISK_ORDER[v.riskLevel] >= 1);
  if (pairsNeeded && !v.partner)
    out.push({ level: 'block', rule: 'pairs', message: 'the policy requires two staff on this visit' });
  if (rules.pairs === 'where-possible' && !v.partner)
    out.push({ level: 'warn', rule: 'pairs', message: 'the policy asks for two staff wherever possible' });
  if (rules.safeWord === 'required' && !v.safeWord?.trim())
    out.push({ level: 'block', rule: 'safe-word', message: 'a safe word must be recorded before leaving' });
  if (rules.hours) {
    const from = minutesOf(rules.hours.from);
    const to = minutesOf(rules.hours.to);
    const approved = rules.hours.approvable && v.outOfHoursApproved;
    if ((v.londonMinutes < from || v.londonMinutes >= to) && !approved)
      out.push({
        level: 'block',
        rule: 'hours',
        message: `visits are made between ${rules.hours.from} and ${rules.hours.to} only${rules.hours.approvable ? ' unless the authoriser approved this one' : ''}`,
      });
  }
  if (rules.checkInMinutes && v.checkInMinutes && v.checkInMinutes > rules.checkInMinutes)
    out.push({
      level: 'block',
      rule: 'check-in',
      message: `the policy asks for a check-in at least every ${rules.checkInMinutes} minutes`,
    });
  if (rules.requires.phone && v.phone === false)
    out.push({
      level: 'block',
      rule: 'phone',
      message: 'a phone number the office can reach you on is needed',
    });
  if (rules.requires.fob && v.fob === false)
    out.push({
      level: 'block',
      rule: 'fob',
      message: 'the policy asks you to carry a lone-worker fob registered to you',
    });
  if (rules.requires.vehicle && v.vehicle === false)
    out.push({
      level: 'block',
      rule: 'vehicle',
      message: 'the vehicle’s make, model, registration and colour (or "on foot") are needed',
    });
  if (!v.expectedReturnAt || v.expectedReturnAt.getTime() <= v.now.getTime())
    out.push({
      level: 'block',
      rule: 'expected-return',
      message: 'an expected return time in the future is needed',
    });
  return out;
}

/** Whether a person with these roles and positions may authorise visits under the rules. */
export function mayAuthorise(rules: VisitRules, rolesAndPositions: readonly string[]): boolean {
  if (rolesAndPositions.includes('admin')) return true;
  const by = rules.authorisation.by.length ? rules.authorisation.by : ['safeguarding'];
  return by.some((r) => rolesAndPositions.includes(r));
}
