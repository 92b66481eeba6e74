import { londonMinutes } from '../domain/attendance/dates.ts';
import { departureFindings } from '../domain/visits/departure-findings.ts';
import { flagMinimum, higherRisk } from '../domain/visits/rules.ts';
import { doorstepError } from '../errors.ts';
import { addressFlagsFor } from '../store/address-flags.ts';
import { insertBoardEvent } from '../store/board.ts';
import type { Queryable } from '../store/db.ts';
import { type User, userById } from '../store/users.ts';
import { markDeparted } from '../store/visit-changes.ts';
import { staffCompetence } from '../store/visit-queries.ts';
import type { Vehicle, VisitRow } from '../store/visits.ts';
import { assertMayActOn, knownSchool, userMaySeeSchool } from './access.ts';
import { audit, change, must, mustLock, type VisitDeps } from './change.ts';
import { sendNotices } from './visit-notices.ts';
import { visitRecordCopy } from './visit-record-copy.ts';

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
  const notices = await change(deps, async (tx, events) => {
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
    const school = knownSchool(deps.config, v.schoolId);
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
      familyNotice: v.familyNotice,
    });
    const blocks = findings.filter((f) => f.level === 'block');
    if (blocks.length)
      throw doorstepError('POLICY', `cannot leave yet: ${blocks.map((b) => b.message).join('; ')}`, {
        details: blocks.map((b) => b.rule),
      });
    must(deps, user, v, 'depart');
    await markDeparted(tx, visitId, {
      lead,
      partner: d.partnerUserId ?? null,
      at: now,
      expectedReturnAt: d.expectedReturnAt,
      checkInMinutes: d.checkInMinutes ?? rules.checkInMinutes ?? null,
      safeWord: d.safeWord?.trim() || null,
      phone,
      vehicle: d.vehicle ?? null,
      fobDeviceId: fob,
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
        warnings: findings.filter((f) => f.level === 'warn').map((f) => f.rule),
      },
    );
    events.push(await insertBoardEvent(tx, v.schoolId, 'visit.departed', { visitId }));
    // Hampton: a copy of the visit record to the office and the HoS (`notices.visitRecord`).
    return visitRecordCopy(tx, school, user, await mustLock(tx, visitId), 'departed', now);
  });
  await sendNotices(deps.producer, notices);
}
