import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, visitRulesFor } from '../../../src/config/policy-packs.ts';
import { departureFindings } from '../../../src/domain/visits/departure-findings.ts';
import { allowedActions, decide, type LifecycleVisit } from '../../../src/domain/visits/lifecycle.ts';
import { visitRules } from '../../../src/domain/visits/rules.ts';
import { configWith } from '../../helpers/config.ts';
import { visitBeforeLeaving } from '../../helpers/lifecycle.ts';

/**
 * Thames View 3.4/3.5 at the door, and 2.9's vehicle insurance before leaving.
 *  3.4 "If the parents/carers are not present at the arranged time, the staff member should wait no
 *      longer than 20 minutes. If the parent/carer does not arrive the visit will be cancelled."
 *  3.5 "If the parents/carers have given prior notice that they are running late, the officer must not
 *      enter the house until they arrive. If they are over 30 minutes late the visit will be cancelled."
 *  2.9 "… make, model, registration number and colour … All vehicles must have the required up-to-date
 *      insurance"
 */
const packs = loadPolicyPacks('config/policies');
const thames = visitRulesFor({ ...configWith().schools[0]!, policies: ['statutory', 'thames-view'] }, packs);

const lead = { id: 'lead', roles: ['visiting-staff'], positions: [] };
const partner = { id: 'partner', roles: ['visiting-staff'], positions: [] };
const office = { id: 'office', roles: ['office'], positions: [] };
const colleague = { id: 'colleague', roles: ['visiting-staff'], positions: [] };
const T = new Date('2026-11-23T10:00:00Z');

/** The pair out, on the way (`wait` null) or at the door `wait` minutes after the arranged time. */
const out = (
  wait: number | null,
  parentSaidLate = false,
  o: Partial<LifecycleVisit> = {},
): LifecycleVisit => ({
  ...visitBeforeLeaving('departed', { lead: 'lead', requestedBy: 'lead' }),
  partnerUserId: 'partner',
  departedAt: T,
  arrivedAt: wait === null ? null : T,
  doorWaitMinutes: wait,
  parentSaidLate,
  ...o,
});
const ok = (action: Parameters<typeof decide>[0], v: LifecycleVisit, who = lead) =>
  decide(action, v, who, thames).ok;

describe('Thames View 3.5: the parent/carer said they are running late', () => {
  it('is recorded by the people on the visit or the office, on the way or at the door before the 20 minutes are over, once', () => {
    for (const who of [lead, partner, office]) {
      expect(ok('parent-running-late', out(null), who), who.id).toBe(true);
      expect(ok('parent-running-late', out(19.9), who), who.id).toBe(true);
    }
    const d = decide('parent-running-late', out(5), colleague, thames);
    expect(d).toMatchObject({ ok: false, why: 'who' });
    expect(!d.ok && d.message).toBe(
      'only the people on the visit, or the office for them, record that the parent/carer said they are running late',
    );
    // Once the 20 minutes' wait is over it is not prior notice: 3.4 has applied.
    const late = decide('parent-running-late', out(20), lead, thames);
    expect(late).toMatchObject({ ok: false, why: 'state' });
    expect(!late.ok && late.message).toMatch(/the 20 minutes' wait at the door is over/);
    // Once; not before leaving, not after an outcome, a cancellation or back safe.
    const again = decide('parent-running-late', out(5, true), lead, thames);
    expect(!again.ok && again.message).toMatch(/already recorded/);
    expect(ok('parent-running-late', visitBeforeLeaving('authorised'))).toBe(false);
    expect(ok('parent-running-late', out(5, false, { outcomeRecorded: true }))).toBe(false);
    expect(ok('parent-running-late', out(5, false, { status: 'cancelled' }))).toBe(false);
    expect(ok('parent-running-late', out(5, false, { returnedAt: T }))).toBe(false);
    // It keeps the worker watched, changes no status and stands no alarm down.
    const e = decide('parent-running-late', out(5), office, thames);
    expect(e.ok && e.effect).toEqual({ status: null, monitoring: 'keep', clears: [], clearedAs: null });
  });

  it('is offered only where the pack sets a lateness limit', () => {
    const noLimit = visitRules.parse({ appointments: { noAnswerAfterMinutes: 20 } });
    expect(decide('parent-running-late', out(5), lead, noLimit).ok).toBe(false);
    expect(decide('parent-running-late', out(5), lead, visitRules.parse({})).ok).toBe(false);
    // A notice on such a pack changes nothing: 3.4's wait is all there is.
    expect(decide('no-answer', out(20, true), lead, noLimit).ok).toBe(true);
  });

  it('with notice: no "no answer" at 20 minutes — the worker waits; cancelled for lateness only over 30', () => {
    for (const wait of [20, 25, 30, 31, 60])
      expect(ok('no-answer', out(wait, true)), `no-answer at ${wait}`).toBe(false);
    const refused = decide('no-answer', out(25, true), lead, thames);
    expect(!refused.ok && refused.message).toMatch(
      /the parent\/carer said they are running late — do not go in until they arrive; over 30 minutes late, cancel for a late parent/,
    );
    expect([29, 30, 30.5, 31].map((w) => ok('parent-late-cancel', out(w, true)))).toEqual([
      false,
      false,
      true,
      true,
    ]);
    const d = decide('parent-late-cancel', out(31, true), partner, thames);
    expect(d.ok && d.effect).toMatchObject({ status: 'cancelled', monitoring: 'keep' });
    // What the pages are offered at 25 and 31 minutes: exactly what the server allows.
    expect(allowedActions(out(25, true), lead, thames)).not.toContain('no-answer');
    expect(allowedActions(out(25, true), lead, thames)).not.toContain('parent-late-cancel');
    expect(allowedActions(out(31, true), office, thames)).toContain('parent-late-cancel');
  });

  it('without notice: 3.4 exactly as before — "no answer" from 20 minutes, and never a cancellation for lateness', () => {
    expect([19, 20, 31].map((w) => ok('no-answer', out(w)))).toEqual([false, true, true]);
    for (const wait of [20, 31, 90]) expect(ok('parent-late-cancel', out(wait)), `at ${wait}`).toBe(false);
    const d = decide('parent-late-cancel', out(31), lead, thames);
    expect(!d.ok && d.message).toMatch(/nobody recorded that the parent\/carer said they are running late/);
    expect(allowedActions(out(31), lead, thames)).not.toContain('parent-late-cancel');
  });
});

describe('Thames View 2.9: the vehicle’s required up-to-date insurance', () => {
  const leaving = (o: Partial<Parameters<typeof departureFindings>[1]>) =>
    departureFindings(thames, {
      status: 'authorised',
      riskLevel: 'low',
      riskAssessed: true,
      partner: true,
      safeWord: null,
      londonMinutes: 600,
      expectedReturnAt: new Date(T.getTime() + 3_600_000),
      now: T,
      plannedFor: '2026-11-23',
      appointmentAt: new Date(T.getTime() + 1_800_000),
      phone: true,
      identification: true,
      familyNotice: { method: 'written-confirmation', exemption: null },
      ...o,
    }).filter((f) => f.level === 'block');

  it('a vehicle without the worker’s confirmation of its insurance is refused, naming what is missing', () => {
    const blocks = leaving({ vehicle: true, vehicleInsured: false });
    expect(blocks.map((b) => b.rule)).toEqual(['vehicle-insurance']);
    expect(blocks[0]!.message).toBe(
      'the vehicle’s insurance: confirm the vehicle has the required up-to-date insurance (for business use)',
    );
  });

  it('confirmed, or on foot (no vehicle), nothing is asked; a pack that asks for no vehicle asks nothing of it', () => {
    expect(leaving({ vehicle: true, vehicleInsured: true })).toEqual([]);
    // On foot: `vehicleInsured` is true (no vehicle to insure), as the register gives it.
    expect(leaving({ vehicle: true, vehicleInsured: true })).toEqual([]);
    // No vehicle yet: the vehicle is what is missing, not its insurance.
    expect(leaving({ vehicle: false, vehicleInsured: true }).map((b) => b.rule)).toEqual(['vehicle']);
    const hampton = visitRules.parse({});
    expect(
      departureFindings(hampton, {
        status: 'requested',
        riskLevel: 'low',
        partner: true,
        safeWord: null,
        londonMinutes: 600,
        expectedReturnAt: new Date(T.getTime() + 3_600_000),
        now: T,
        vehicle: true,
        vehicleInsured: false,
      }).filter((f) => f.rule === 'vehicle-insurance'),
    ).toEqual([]);
  });
});
