import { schoolsSharingFobs } from '../config/fob-vendors.ts';
import { feedProfiles } from '../config/school-of.ts';
import { londonDate, londonMinutes } from '../domain/attendance/dates.ts';
import type { ClosedDay } from '../domain/calendar.ts';
import { e164 } from '../domain/phone-key.ts';
import { DEPARTURE_FIELDS, departureFindings, type Finding } from '../domain/visits/departure-findings.ts';
import { decide, mayNameLead } from '../domain/visits/lifecycle.ts';
import {
  flagMinimum,
  flagsSinceAssessed,
  higherRisk,
  POLICY_EXEMPTION,
  type VisitRules,
} from '../domain/visits/rules.ts';
import { doorstepError, isDoorstepError } from '../errors.ts';
import { addressFlagsFor } from '../store/address-flags.ts';
import { insertBoardEvent } from '../store/board.ts';
import type { Queryable } from '../store/db.ts';
import { holdAccounts, type User, userById } from '../store/users.ts';
import { markDeparted } from '../store/visit-changes.ts';
import { fobOutWithAnotherVisit, staffCompetence } from '../store/visit-queries.ts';
import { getVisit, lifecycleOf, type Vehicle, type VisitRow } from '../store/visits.ts';
import { calendarFor } from '../triggers/calendar-for.ts';
import { actorOf, assertMayActOn, knownSchool, userMaySeeSchool } from './access.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';
import { EXEMPTION_WHY_WITHHELD, exemptionsFor } from './family-notice.ts';
import { seesPupilDetails } from './pupil-details-for.ts';
import { sendNotices } from './visit-notices.ts';
import { visitRecordCopy } from './visit-record-copy.ts';

/**
 * Why a day is no working day for the staff (`closedDay` of the departure checks), or null: a
 * weekend, a holiday, a bank holiday or a closure is; an INSET day is not — it closes the school to
 * pupils, while the staff are at work (King's Gomer 2.2 "regular working hours" says nothing of days).
 */
export function staffClosedDay(closed: ClosedDay | undefined): string | null {
  return !closed || closed.kind === 'inset' ? null : closed.kind;
}

export interface Departure {
  /**
   * Who is going, for a visit nobody leads yet: needed when the person recording the departure is
   * not visiting staff of the school (the office for a worker who phoned); active visiting staff of
   * the school, as the partner is.
   */
  leadUserId?: string | undefined;
  partnerUserId?: string | undefined;
  expectedReturnAt: Date;
  /** When the worker expects to arrive (told to the office; required where the pack says so). */
  estimatedArrivalAt?: Date | undefined;
  checkInMinutes?: number | undefined;
  safeWord?: string | undefined;
  /** The visiting staff confirm they have read the risk notes and address flags. */
  risksRead: boolean;
  /** The visiting staff confirm they carry their identification (where the pack asks). */
  identification?: boolean | undefined;
  /** A number to reach the worker on while out (default: their account's). */
  phone?: string | undefined;
  vehicle?: Vehicle | undefined;
  onFoot?: boolean | undefined;
}

/**
 * Whether the user is active visiting staff of the school (who may be out on one of its visits). A
 * signed-in user is active; an account read from the store says whether it is disabled.
 */
const visitingStaffOf = (u: User & { disabled?: boolean }, schoolId: string) =>
  !u.disabled && u.roles.includes('visiting-staff') && userMaySeeSchool(u, schoolId);

/** A person named to go on the visit: an active member of the visiting staff of the visit's school. */
async function goingStaff(
  tx: Queryable,
  v: VisitRow,
  field: 'leadUserId' | 'partnerUserId',
  id: string,
): Promise<User> {
  const p = /^\d{1,18}$/.test(id) ? await userById(tx, id) : undefined;
  // One answer whether the account is missing, disabled or at another school: the check before
  // leaving never tells whether an id is someone elsewhere in the trust.
  if (!p || !visitingStaffOf(p, v.schoolId))
    throw doorstepError(
      'POLICY',
      `${field}: the ${field === 'leadUserId' ? 'lead' : 'partner'} must be active visiting staff of this school`,
    );
  return p;
}

/**
 * Who is out on the visit: its lead; for a visit nobody leads yet, the lead named in the request,
 * else the person saying they go (`go-on-visit`) or departing when they are visiting staff of the
 * school (departing, only one who is also the office or safeguarding: visiting staff alone say they
 * go first, the lifecycle's `depart`). Never anyone else — the
 * office recording a departure must not become the worker being watched (their phone, their fob,
 * their name on the alarms), leaving the real worker without their phone page.
 */
export async function leadOf(
  tx: Queryable,
  user: User,
  v: VisitRow,
  named: string | undefined,
): Promise<User> {
  if (v.leadUserId) {
    if (named && named !== v.leadUserId)
      throw doorstepError(
        'POLICY',
        'leadUserId: this visit already has its lead; the partner goes with them',
      );
    // The lead set when the visit was asked for is checked as a named one is: someone since disabled,
    // moved school or no longer visiting staff is not the worker the register watches.
    if (v.leadUserId === user.id && visitingStaffOf(user, v.schoolId)) return user;
    return goingStaff(tx, v, 'leadUserId', v.leadUserId);
  }
  if (named) {
    if (named === user.id && visitingStaffOf(user, v.schoolId)) return user;
    // Visiting staff take a visit nobody leads as its lead themselves (`mayNameLead`): naming a
    // colleague would put them out without their knowing, on a phone and safe word someone else chose.
    if (!mayNameLead(actorOf(user)))
      throw doorstepError(
        'FORBIDDEN',
        'leadUserId: you take a visit nobody leads as its lead yourself; the office records a departure for someone else',
      );
    return goingStaff(tx, v, 'leadUserId', named);
  }
  if (visitingStaffOf(user, v.schoolId)) return user;
  throw doorstepError(
    'POLICY',
    'leadUserId: nobody leads this visit: name who is going (active visiting staff of this school); the person recording the departure is not visiting staff',
  );
}

/** A departure being filled in on the visit page: everything may still be missing. */
export type DepartureDraft = Partial<Departure>;

/**
 * The family notice recorded, with whether an exemption recorded still applies to the pupil. To those
 * the pupil's details are withheld from (`seesDetails` false) neither which exemption it was nor why
 * it stopped applying is said (`exemptionsShown`): only that it no longer does.
 */
async function familyNoticeNow(
  tx: Queryable,
  rules: VisitRules,
  v: VisitRow,
  told: { method: string | null; exemption: string | null },
  now: Date,
  seesDetails: boolean,
) {
  if (!told.exemption) return told;
  const standing = (await exemptionsFor(tx, rules, v, now)).find((x) => x.id === told.exemption);
  const shown = seesDetails ? told : { ...told, exemption: POLICY_EXEMPTION };
  // An exemption the school's policy no longer names stands for nothing: the family is told first.
  if (!standing) return { ...shown, exemptionLapsed: "the school's policy no longer names it" };
  if (standing.applies) return { ...shown, exemptionLapsed: null };
  return { ...shown, exemptionLapsed: seesDetails ? standing.why : EXEMPTION_WHY_WITHHELD };
}

/** What a departure would be checked against, and what it would record. */
interface DepartureCheck {
  findings: Finding[];
  lead: User | null;
  phone: string | null;
  fob: string | null;
  /** The lead's registered devices no other visit out holds (`fob` the first). */
  fobs: string[];
  /** The partner's registered devices no other visit out holds. */
  partnerFobs: string[];
}

/**
 * The policy's checks of a departure (authorisation, pairs, safe word, hours, risk, competence, phone,
 * fob, vehicle, family notice, expected return) — the one place both leaving and the visit page's
 * "Needed" list get them from. `strict` (leaving): the risks not confirmed read, or a lead or partner
 * who may not go, is refused at once with its own error, as before; otherwise (the page's check) each
 * becomes a blocking finding of its own, so the page lists everything leaving would be refused for.
 */
async function checkDeparture(
  tx: Queryable,
  deps: VisitDeps,
  user: User,
  v: VisitRow,
  d: DepartureDraft,
  strict: boolean,
): Promise<DepartureCheck> {
  const rules = deps.rulesFor(v.schoolId);
  const now = deps.now();
  const refusals: Finding[] = [];
  /** In strict mode the error is thrown; otherwise it is a blocking finding under `rule`. */
  const attempt = async <T>(rule: string, fn: () => Promise<T> | T): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      if (strict || !isDoorstepError(err)) throw err;
      // The field the API error names ("partnerUserId: …") is the finding's rule here.
      refusals.push({ level: 'block', rule, message: err.message.replace(/^[a-zA-Z]+: /, '') });
      return null;
    }
  };
  await attempt('risks-read', () => {
    if (!d.risksRead)
      throw doorstepError('POLICY', 'risksRead: confirm the risk notes and address flags were read');
  });
  const leadUser = await attempt('lead', () => leadOf(tx, user, v, d.leadUserId));
  const partnerUser = d.partnerUserId
    ? await attempt('partner', async () => {
        if (d.partnerUserId === leadUser?.id)
          throw doorstepError('BAD_REQUEST', 'partnerUserId: the partner must be someone else');
        return goingStaff(tx, v, 'partnerUserId', d.partnerUserId!);
      })
    : null;
  const partnerId = partnerUser?.id ?? null;
  // The worker's number and fob are the lead's (a number typed in the form, else their account's).
  // A typed number is kept as the providers take it (E.164, `e164`, as accounts keep theirs): the
  // register's text to the worker is posted to it as kept, and a provider refuses "07700 900123".
  const typed = d.phone?.trim();
  const phone = typed
    ? await attempt('phone', () => {
        const number = e164(typed);
        if (number === null)
          throw doorstepError(
            'BAD_REQUEST',
            'phone: expected a phone number to reach the worker on, such as 07700 900123 or +447700900123',
          );
        return number;
      })
    : leadUser?.phone || null;
  const school = knownSchool(deps.config, v.schoolId);
  // Every device the registry gives the lead (one staff id may wear several: a spare fob, an app),
  // and the partner: the visit watcher counts a press for this visit only from a device recorded now.
  const devicesOf = (u: User | null) =>
    u?.staffId ? school.fobs.devices.filter((x) => x.staffId === u.staffId).map((x) => x.deviceId) : [];
  const registeredAll = devicesOf(leadUser);
  const partnerAll = devicesOf(partnerUser).filter((x) => !registeredAll.includes(x));
  const registered = registeredAll[0] ?? null;
  // A fob given to this worker in the config while another visit is still out with it (its wearer
  // not back safe), at this school or at another whose feeds may bring the same fob's events (a fob
  // moved between schools' registries): its SOS and check-ins are that visit's, never this one's, nor
  // (once that wearer is back, maybe still holding it) this one's either: it is not recorded here.
  // The visit leaves with the first of the lead's devices no other visit holds. With none — where the
  // policy asks for a fob, refused; else this visit leaves recording no fob (never a second holder),
  // warned — a visit that cannot leave is watched by no one. Never saying whose visit it is.
  const sharing = leadUser
    ? [v.schoolId, ...schoolsSharingFobs(deps.config, school, feedProfiles(deps.config)).map((s) => s.id)]
    : [];
  // Each device's lock taken in one order (by id), whatever order a school's registry lists them in.
  const outIds = new Set<string>();
  for (const deviceId of [...registeredAll, ...partnerAll].sort())
    if (
      leadUser !== null &&
      (await fobOutWithAnotherVisit(tx, {
        schoolIds: sharing,
        deviceId,
        visitId: v.id,
        leadUserId: leadUser.id,
        hold: strict,
      }))
    )
      outIds.add(deviceId);
  const heldElsewhere = registeredAll.filter((x) => outIds.has(x));
  const free = registeredAll.filter((x) => !outIds.has(x));
  const fob = free[0] ?? null;
  const partnerFree = partnerAll.filter((x) => !outIds.has(x));
  const partnerHeld = partnerAll.filter((x) => outIds.has(x));
  const notRely = heldElsewhere
    .map(
      (x) =>
        `do not rely on fob ${x}: it is recorded out with another visit, and its alarms and check-ins go to that visit`,
    )
    .join('; ');
  if (heldElsewhere.length)
    refusals.push(
      fob === null && rules.requires.fob
        ? {
            level: 'block',
            rule: 'fob-out',
            message: `fob ${registered} is still out with another visit (not back safe from it yet): its alarms and check-ins would go to that visit, not this one — ask the office to record Back safe on that visit first, or to register another fob to the lead (the school's fobs.devices)`,
          }
        : fob === null
          ? {
              level: 'warn',
              rule: 'fob-out',
              message: `leaving without a fob — ${notRely}; this visit is recorded with no fob (check in by phone); ask the office to record Back safe on that visit, or to register another fob to the lead (the school's fobs.devices)`,
            }
          : {
              level: 'warn',
              rule: 'fob-out',
              message: `leaving with fob ${fob} — ${notRely}; ask the office to record Back safe on that visit`,
            },
    );
  // The partner's fob out with another visit: they leave all the same (the lead's fob and phone are
  // the visit's), told its presses are not theirs here.
  if (partnerHeld.length)
    refusals.push({
      level: 'warn',
      rule: 'fob-out',
      message: `the partner must not rely on ${partnerHeld.map((x) => `fob ${x}`).join(' or ')}: it is recorded out with another visit, and its alarms and check-ins go to that visit; ask the office to record Back safe on that visit`,
    });
  const flags = await addressFlagsFor(tx, v.schoolId, v.address);
  const going = leadUser ? [leadUser.id, ...(partnerId ? [partnerId] : [])] : [];
  const findings = departureFindings(rules, {
    status: v.status,
    plannedFor: v.plannedFor,
    appointmentAt: v.appointmentAt,
    // A dangerous (or caution) address raises the level whatever was assessed.
    riskLevel: higherRisk(v.riskLevel, flagMinimum(flags)),
    riskAssessed: v.riskAssessedAt !== null,
    flaggedSinceAssessed: flagsSinceAssessed(flags, {
      at: v.riskAssessedAt,
      flagIds: v.riskAssessedFlags,
    }).map((f) => f.level),
    staff: going.length ? await staffCompetence(tx, going, v.id) : [],
    ...(d.expectedReturnAt ? { returnLondonMinutes: londonMinutes(d.expectedReturnAt) } : {}),
    partner: partnerId !== null,
    safeWord: d.safeWord ?? null,
    londonMinutes: londonMinutes(now),
    outOfHoursApproved: v.outOfHoursApproved,
    closedDay: staffClosedDay(calendarFor(school, londonDate(now)).whyClosed(londonDate(now))),
    commute: v.commute ? { approved: v.commuteApprovedAt !== null } : null,
    expectedReturnAt: d.expectedReturnAt ?? null,
    estimatedArrivalAt: d.estimatedArrivalAt ?? null,
    identification: d.identification === true,
    now,
    checkInMinutes: d.checkInMinutes ?? null,
    // Whose phone and fob is not known until someone leads: nothing is said of them until then.
    ...(leadUser ? { phone: phone !== null, fob: registered !== null } : {}),
    vehicle: Boolean(d.vehicle) || d.onFoot === true,
    vehicleInsured: !d.vehicle || d.vehicle.insuranceConfirmed === true,
    familyNotice:
      v.familyNotice &&
      (await familyNoticeNow(tx, rules, v, v.familyNotice, now, seesPupilDetails(user, v, rules))),
  });
  return {
    findings: [...refusals, ...findings],
    lead: leadUser,
    phone,
    fob,
    fobs: free,
    partnerFobs: partnerFree,
  };
}

/**
 * What leaving now, as drafted, would be refused for (and warned of): the visit page's "Needed" list,
 * from the same checks leaving runs. Read only; someone else's visit is not found.
 */
export async function departureCheck(
  deps: VisitDeps,
  user: User,
  visitId: string,
  d: DepartureDraft,
): Promise<Finding[]> {
  const v = await getVisit(deps.db, visitId);
  if (!v) throw doorstepError('NOT_FOUND', `no visit ${visitId}`);
  assertMayActOn(user, v);
  return (await checkDeparture(deps.db, deps, user, v, d, false)).findings;
}

/** Leaving school: the policy's checks (authorisation, pairs, safe word, hours, risk) must pass. */
export async function departVisit(deps: VisitDeps, user: User, visitId: string, d: Departure): Promise<void> {
  const notices = await change(deps, async (tx, events) => {
    const v = await mustLock(tx, visitId);
    assertMayActOn(user, v);
    const rules = deps.rulesFor(v.schoolId);
    const now = deps.now();
    // Whether this person may leave on it at all, before what the form lacks: visiting staff on a
    // visit nobody leads are told to say they are going first and read the pupil's flags (`depart`).
    const may = decide('depart', lifecycleOf(v, now), actorOf(user), rules);
    if (!may.ok && may.why === 'who') throw doorstepError('FORBIDDEN', may.message);
    const {
      findings,
      lead: leadUser,
      phone,
      fob,
      fobs,
      partnerFobs,
    } = await checkDeparture(tx, deps, user, v, d, true);
    const lead = leadUser!.id;
    const school = knownSchool(deps.config, v.schoolId);
    const blocks = findings.filter((f) => f.level === 'block');
    if (blocks.length)
      throw doorstepError('POLICY', `cannot leave yet: ${blocks.map((b) => b.message).join('; ')}`, {
        details: blocks.map((b) => b.rule),
        // Each by its rule and the request's field, for a client to point at (Thames View 2.9's
        // `vehicle.insuranceConfirmed`, say).
        problems: blocks.map((b) => {
          const field = DEPARTURE_FIELDS[b.rule];
          return { rule: b.rule, ...(field ? { field } : {}), message: b.message };
        }),
      });
    must(deps, user, v, 'depart');
    // The people leaving are held: an account change at the same moment (a new password, a role
    // taken away) waits for this departure and then finds them out (src/auth/accounts.ts).
    await holdAccounts(
      tx,
      [lead, d.partnerUserId].filter((x): x is string => Boolean(x)),
      'share',
    );
    await markDeparted(tx, visitId, {
      lead,
      partner: d.partnerUserId ?? null,
      at: now,
      estimatedArrivalAt: d.estimatedArrivalAt ?? null,
      expectedReturnAt: d.expectedReturnAt,
      checkInMinutes: d.checkInMinutes ?? rules.checkInMinutes ?? null,
      safeWord: d.safeWord?.trim() || null,
      phone,
      // Kept with the worker's word on its insurance (2.9), false where it was not given.
      vehicle: d.vehicle ? { ...d.vehicle, insuranceConfirmed: d.vehicle.insuranceConfirmed === true } : null,
      fobDeviceId: fob,
      fobDeviceIds: fobs,
      partnerFobDeviceIds: partnerFobs,
    });
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
        ...(d.estimatedArrivalAt ? { estimatedArrivalAt: d.estimatedArrivalAt.toISOString() } : {}),
        warnings: findings.filter((f) => f.level === 'warn').map((f) => f.rule),
      },
    );
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.departed', { visitId }));
    // Hampton: a copy of the visit record to the office and the HoS (`notices.visitRecord`).
    return visitRecordCopy(tx, school, user, await mustLock(tx, visitId), 'departed', now);
  });
  await sendNotices(deps.producer, notices);
}
