import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, visitRulesFor } from '../../../src/config/policy-packs.ts';
import { departureFindings } from '../../../src/domain/visits/departure-findings.ts';
import {
  allowedActions,
  decide,
  type LifecycleVisit,
  VISIT_ACTIONS,
} from '../../../src/domain/visits/lifecycle.ts';
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
    // Once; not after an outcome, a cancellation or back safe.
    const again = decide('parent-running-late', out(5, true), lead, thames);
    expect(!again.ok && again.message).toMatch(/already recorded/);
    expect(ok('parent-running-late', out(5, false, { outcomeRecorded: true }))).toBe(false);
    expect(ok('parent-running-late', out(5, false, { status: 'cancelled' }))).toBe(false);
    expect(ok('parent-running-late', out(5, false, { returnedAt: T }))).toBe(false);
    // It keeps the worker watched, changes no status and stands no alarm down.
    const e = decide('parent-running-late', out(5), office, thames);
    expect(e.ok && e.effect).toEqual({ status: null, monitoring: 'keep', clears: [], clearedAs: null });
  });

  it('is recorded before the visit leaves, on its planned day (the parent phones the school first)', () => {
    for (const status of ['requested', 'authorised'] as const) {
      const before = visitBeforeLeaving(status, { lead: 'lead', requestedBy: 'lead' });
      for (const who of [lead, office]) expect(ok('parent-running-late', before, who), who.id).toBe(true);
      // Nothing to watch yet.
      const e = decide('parent-running-late', before, office, thames);
      expect(e.ok && e.effect).toEqual({ status: null, monitoring: 'none', clears: [], clearedAs: null });
      // Not on an earlier day, nor once the day has passed, nor twice.
      const early = decide('parent-running-late', { ...before, plannedToday: false }, office, thames);
      expect(!early.ok && early.message).toBe(
        'cannot record that the parent/carer is running late yet: the visit is planned for a later day — record it on the day of the visit',
      );
      const gone = decide(
        'parent-running-late',
        { ...before, plannedToday: false, dayPassed: true },
        office,
        thames,
      );
      expect(!gone.ok && gone.message).toBe(
        'cannot record that the parent/carer is running late: the day the visit was planned for has passed',
      );
      expect(ok('parent-running-late', { ...before, parentSaidLate: true }, office)).toBe(false);
    }
    // Given before leaving, it holds at the door: no "no answer" at 20 minutes, cancelled over 30.
    expect(ok('no-answer', out(25, true))).toBe(false);
    expect(ok('parent-late-cancel', out(31, true))).toBe(true);
    // Not on a cancelled visit.
    expect(ok('parent-running-late', visitBeforeLeaving('cancelled'), office)).toBe(false);
  });

  it('a refusal says the action and where the visit stands in plain words', () => {
    const authorised = visitBeforeLeaving('authorised', { lead: 'lead', requestedBy: 'lead' });
    const say = (action: Parameters<typeof decide>[0], v: LifecycleVisit) => {
      const d = decide(action, v, office, thames);
      return d.ok ? 'allowed' : d.message;
    };
    expect(say('record-arrival', authorised)).toBe(
      'cannot record the arrival: the visit is authorised and has not left yet',
    );
    expect(say('no-answer', visitBeforeLeaving('requested'))).toBe(
      'cannot record no answer: the visit has not left yet',
    );
    expect(say('no-answer', out(null))).toBe('cannot record no answer: the worker is on the way');
    expect(say('set-appointment', out(5))).toBe('cannot set the appointment: the worker is at the door');
    expect(say('record-check-in', visitBeforeLeaving('completed'))).toBe(
      'cannot record a check-in: the visit is completed',
    );
    expect(say('depart', out(5, false, { status: 'cancelled' }))).toBe(
      'cannot leave for the visit: the visit is cancelled, and the worker is still out until back safe',
    );
    // No refusal of any action, from any state, names the action by its code (check in is words).
    const states = [
      authorised,
      visitBeforeLeaving('requested'),
      visitBeforeLeaving('cancelled'),
      visitBeforeLeaving('completed'),
      out(null),
      out(5),
      out(5, false, { outcomeRecorded: true }),
      out(5, false, { returnedAt: T, status: 'returned' }),
    ];
    for (const v of states)
      for (const a of VISIT_ACTIONS) {
        const d = decide(a, v, office, thames);
        if (d.ok || d.why !== 'state') continue;
        if (a !== 'check-in') expect(d.message, a).not.toContain(`cannot ${a.replace(/-/g, ' ')}:`);
        expect(d.message, a).not.toMatch(/the visit is (requested|authorised|departed|returned)(,|$)/);
      }
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
