import { londonDate } from '../attendance/dates.ts';
import { returnTimeProblem } from './return-time.ts';
import { RISK_ORDER, type RiskLevel, type VisitRules } from './rules.ts';

/**
 * What stands between a visit and leaving, under its school's rules: each finding a block (the visit
 * cannot leave) or a warning, with the rule it comes from. Pure: the caller gives the facts and the
 * time of day.
 */

/** What a worker's account says about their readiness. */
export interface StaffCompetence {
  homeVisitTrained: boolean;
  safeguardingTrained: boolean;
  /** Home visits they have made before this one. */
  visitsMade: number;
  /** Recorded on their account as experienced in home visits (visits made before Doorstep). */
  experienced?: boolean;
  /** Another visit they are out on now (departed, not back safe): its id. */
  outOnVisit?: string | null;
}

/** How long before leaving an estimated arrival typed as "now" may be (the form takes a while). */
const ARRIVAL_TYPED_AGO_MS = 5 * 60_000;

/** Experienced in home visits: a visit made in Doorstep, or experience recorded on their account. */
const isExperienced = (s: StaffCompetence) => s.visitsMade > 0 || s.experienced === true;

export interface DepartureFacts {
  status: string;
  /**
   * The day the visit is planned for (YYYY-MM-DD, London): what was authorised (a day's list is
   * signed for its day), what the family was told, and what a wait at the door counts from.
   */
  plannedFor?: string;
  /** The appointment's time, where one was made. */
  appointmentAt?: Date | null;
  /** The effective risk level: the assessed level, raised by any address flag. */
  riskLevel: RiskLevel;
  /** Whether an assessor has assessed it (needed before leaving where the pack says `separate`). */
  riskAssessed?: boolean;
  /** Levels of the address flags recorded after the risk was assessed (new risks the assessment did not weigh). */
  flaggedSinceAssessed?: readonly string[];
  /** Lead, and partner if any. */
  staff?: StaffCompetence[];
  partner: boolean;
  safeWord: string | null;
  /** Minutes after midnight, Europe/London, at departure. */
  londonMinutes: number;
  /** Minutes after midnight, Europe/London, of the expected return (the whole visit is checked). */
  returnLondonMinutes?: number;
  expectedReturnAt: Date | null;
  now: Date;
  /** The authoriser approved this visit outside the policy's hours. */
  outOfHoursApproved?: boolean;
  /** Why today (London) is no working day at this school — `weekend`, `holiday`, `inset`, … — or null. */
  closedDay?: string | null;
  /** Made on the way to work or home from work, and whether it was approved beforehand. */
  commute?: { approved: boolean } | null;
  /** The check-in interval the worker chose (null: the policy's). */
  checkInMinutes?: number | null;
  /** A phone number for the worker (their account's or typed at departure). */
  phone?: boolean;
  /** The staff confirmed they carry their identification (where the pack asks). */
  identification?: boolean;
  /** A fob registered to the worker. */
  fob?: boolean;
  /** Vehicle details given, or "on foot". */
  vehicle?: boolean;
  /**
   * No vehicle given, or the worker confirmed the vehicle has the required up-to-date insurance
   * (Thames View 2.9); false: a vehicle given without that confirmation.
   */
  vehicleInsured?: boolean;
  /** The estimated arrival time the worker gave (null: none). */
  estimatedArrivalAt?: Date | null;
  /**
   * How the family was told, or the exemption recorded (null: neither); `exemptionLapsed`: the
   * exemption's triggers are no longer open for the pupil (what it rested on, as words).
   */
  familyNotice?: { method: string | null; exemption: string | null; exemptionLapsed?: string | null } | null;
}

export interface Finding {
  level: 'block' | 'warn';
  rule: string;
  message: string;
}

/**
 * The departure request's field each finding is about, where one field answers it (a dotted path, as
 * a 400 names it): what a refused departure names for a client to point at. Rules about the visit
 * itself (its authorisation, its day, the risk assessment, training) name none.
 */
export const DEPARTURE_FIELDS: Readonly<Partial<Record<string, string>>> = {
  'risks-read': 'risksRead',
  lead: 'leadUserId',
  partner: 'partnerUserId',
  pairs: 'partnerUserId',
  'safe-word': 'safeWord',
  'check-in': 'checkInMinutes',
  phone: 'phone',
  vehicle: 'vehicle',
  'vehicle-insurance': 'vehicle.insuranceConfirmed',
  identification: 'identification',
  'arrival-estimate': 'estimatedArrivalAt',
  'expected-return': 'expectedReturnAt',
};

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
  // Every pack: a visit leaves on the day it is planned for. Its authorisation (a signed day's list
  // above all), the family's notice and the appointment were given for that day; on another day the
  // family expects nobody, and a wait at the door counted from that day's appointment is already over.
  const today = londonDate(v.now);
  if (v.plannedFor !== undefined && v.plannedFor !== today)
    out.push({
      level: 'block',
      rule: 'planned-date',
      message:
        v.plannedFor < today
          ? `the visit was planned for ${v.plannedFor}, not today (${today}): move it to today (what was given for that day — authorisation, risk assessment, the family's notice — is asked for again)`
          : `the visit is planned for ${v.plannedFor}, not today (${today}): leave on that day, or move it to today (what was given for that day — authorisation, risk assessment, the family's notice — is asked for again)`,
    });
  // Thames View 2.6 "never enter the home of a pupil unless an appointment has been made"; 3.4
  // counts the wait at the door from "the arranged time".
  if (rules.appointments?.required && !v.appointmentAt)
    out.push({
      level: 'block',
      rule: 'appointment',
      message:
        'an appointment must be made first: record its time on the visit (nobody enters a home without one)',
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
  // Not beside "two staff required": the worker would read the note as leave to go alone.
  if (rules.aloneNoEntry && !v.partner && !pairsNeeded)
    out.push({
      level: 'warn',
      rule: 'alone-no-entry',
      message: 'going alone: do not enter the property — speak at the door',
    });
  if (rules.safeWord === 'required' && !v.safeWord?.trim())
    out.push({ level: 'block', rule: 'safe-word', message: 'a safe word must be recorded before leaving' });
  if (rules.hours) {
    const from = minutesOf(rules.hours.from);
    const to = minutesOf(rules.hours.to);
    const end = v.returnLondonMinutes ?? v.londonMinutes;
    // The whole visit, from leaving to the expected return: a return on a later London date than the
    // departure is outside, whatever its time of day (the minutes alone would read "tomorrow 10:00"
    // as inside 08:00–17:30).
    const laterDay = v.expectedReturnAt !== null && londonDate(v.expectedReturnAt) > londonDate(v.now);
    const closed = rules.hours.workingDaysOnly && v.closedDay ? v.closedDay.replace(/-/g, ' ') : null;
    const outside =
      v.londonMinutes < from ||
      v.londonMinutes >= to ||
      end > to ||
      end < v.londonMinutes ||
      laterDay ||
      closed !== null;
    if (outside) {
      const recommend = rules.hours.mode === 'recommend';
      const approved = (recommend || rules.hours.approvable) && v.outOfHoursApproved;
      if (recommend && approved)
        out.push({
          level: 'warn',
          rule: 'hours',
          message: `outside the recommended ${rules.hours.from}–${rules.hours.to}: approved by the authoriser`,
        });
      else if (!approved)
        out.push({
          level: 'block',
          rule: 'hours',
          message: recommend
            ? `visits outside ${rules.hours.from}–${rules.hours.to} are not recommended: the authoriser must approve this one`
            : `visits are made between ${rules.hours.from} and ${rules.hours.to}${rules.hours.workingDaysOnly ? ' on working days' : ''} only${closed ? ` (today is a ${closed})` : ''}${rules.hours.approvable ? ' unless the authoriser approved this one' : ''}`,
        });
    }
  }
  // Not told, and no exemption — or one that rested on the pupil's attendance, which has changed
  // since (or that the policy no longer names): the family is told first.
  const told = v.familyNotice;
  const lapsed = told?.exemption && told.exemptionLapsed ? told.exemptionLapsed : null;
  if (rules.familyNotice && !told?.method && (!told?.exemption || lapsed)) {
    const how = rules.familyNotice.methods.join(', ');
    const required = rules.familyNotice.expect === 'required';
    const message = lapsed
      ? `the exemption recorded (${told!.exemption!.replace(/-/g, ' ')}) no longer applies: ${lapsed}; tell the family first (${how})`
      : required
        ? `the family must be told of the visit first (${how})${rules.familyNotice.exemptions.length ? `, or an exemption recorded (${rules.familyNotice.exemptions.map((x) => x.id).join(', ')})` : ''}`
        : `the policy asks for the family to be told first where possible (${how})`;
    out.push({ level: required ? 'block' : 'warn', rule: 'family-notice', message });
  }
  if (rules.commute && v.commute && !v.commute.approved)
    out.push({
      level: 'block',
      rule: 'commute-approval',
      message: `a visit on the way to or from work needs prior approval (by ${rules.commute.approvalBy.join(' or ')})`,
    });
  if (rules.risk.at === 'separate' && v.riskAssessed === false)
    out.push({
      level: 'block',
      rule: 'risk-assessment',
      message: `the risk must be assessed first (by ${rules.risk.assessedBy.join(' or ')})`,
    });
  // Thames View 2.5 "If a particular home visit poses new risks, the risk assessment will be amended
  // before the visit"; King's 2.1 "A dynamic risk assessment should be completed before the visit,
  // considering known risks related to the family, location, and timing": wherever an assessor's
  // assessment is required (its own step, or at authorisation), an address flagged since it was made
  // is a risk it did not weigh — assessed again (at whatever level) before anyone leaves.
  else if (rules.risk.at !== 'request' && v.flaggedSinceAssessed?.length)
    out.push({
      level: 'block',
      rule: 'risk-assessment',
      message: `the address was flagged ${[...new Set(v.flaggedSinceAssessed)].join(' and ')} after the risk was assessed: the assessment must be amended first (by ${rules.risk.assessedBy.join(' or ')})`,
    });
  const staff = v.staff ?? [];
  // Every pack: someone still out on another visit (not back safe from it) is said before they leave
  // on this one — a visit forgotten open splits the watch (a fob's alarm goes to one of them). Not a
  // block: two visits on one trip are real (siblings at one address, each child's own visit).
  for (const visit of new Set(staff.map((s) => s.outOnVisit).filter(Boolean)))
    out.push({
      level: 'warn',
      rule: 'already-out',
      message: `someone going is still out on visit #${visit}: unless it is the same trip (a brother or sister at this address), record Back safe on it first`,
    });
  if (staff.length) {
    if (rules.competence.homeVisitTraining && staff.some((s) => !s.homeVisitTrained))
      out.push({
        level: 'block',
        rule: 'training',
        message: 'everyone going needs home-visit training recorded on their account',
      });
    if (
      rules.competence.firstVisitWithExperienced &&
      !isExperienced(staff[0]!) &&
      !staff.slice(1).some(isExperienced)
    )
      out.push({
        level: 'block',
        rule: 'experience',
        message: 'a first home visit is made with an experienced member of staff',
      });
    if (rules.competence.safeguardingTrainedMember && !staff.some((s) => s.safeguardingTrained))
      out.push({
        level: 'block',
        rule: 'safeguarding-training',
        message: 'at least one of those going must be trained in safeguarding',
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
  // 2.9 "All vehicles must have the required up-to-date insurance": a vehicle given comes with the
  // worker's confirmation of it (business use is what schools ask of a car used for work).
  if (rules.requires.vehicle && v.vehicle !== false && v.vehicleInsured === false)
    out.push({
      level: 'block',
      rule: 'vehicle-insurance',
      message:
        'the vehicle’s insurance: confirm the vehicle has the required up-to-date insurance (for business use)',
    });
  if (rules.requires.identification && v.identification !== true)
    out.push({
      level: 'block',
      rule: 'identification',
      message:
        'the policy asks you to carry your identification (your ID badge on show, photo ID with you): confirm you have it',
    });
  if (rules.requires.arrivalEstimate && !v.estimatedArrivalAt)
    out.push({
      level: 'block',
      rule: 'arrival-estimate',
      message: 'the policy asks you to tell the office your estimated arrival time',
    });
  // Given, it lies between leaving and the expected return — leaving as the worker began filling in
  // the form: a time typed as "now" minutes before the form is sent has not passed.
  if (v.estimatedArrivalAt) {
    const problem =
      v.estimatedArrivalAt.getTime() < v.now.getTime() - ARRIVAL_TYPED_AGO_MS
        ? 'it has already passed'
        : v.expectedReturnAt && v.estimatedArrivalAt > v.expectedReturnAt
          ? 'it is after the expected return'
          : null;
    if (problem)
      out.push({ level: 'block', rule: 'arrival-estimate', message: `estimated arrival: ${problem}` });
  }
  // In the future and within the bound a running-late change has too (`MAX_RETURN_AHEAD_MINUTES`):
  // the expected return is the overdue deadline, often the only one watching the worker.
  const returnProblem = v.expectedReturnAt
    ? returnTimeProblem(v.expectedReturnAt, v.now)
    : 'an expected return time is needed';
  if (returnProblem)
    out.push({
      level: 'block',
      rule: 'expected-return',
      message: `expected return: ${returnProblem}`,
    });
  return out;
}
