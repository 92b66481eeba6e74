import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, visitRulesFor } from '../../../src/config/policy-packs.ts';
import { holdsRole } from '../../../src/domain/roles.ts';
import {
  type Actor,
  allowedActions,
  type LifecycleVisit,
  type VisitAction,
} from '../../../src/domain/visits/lifecycle.ts';
import { configWith } from '../../helpers/config.ts';
import { visitBeforeLeaving } from '../../helpers/lifecycle.ts';

/**
 * "Admin may do what every role does, within its schools" (README, docs/web.md), and the routes let
 * an admin in (`holdsRole`): so the lifecycle must too. Found by review: revealing the safe word,
 * raising a concern, a broken agreement and a child-not-seen follow-up asked for the role by name and
 * refused the admin the route had let in. The exception is what a school's policy names by role or
 * position — who authorises, signs the day's list, assesses the risk, approves a commute or an
 * out-of-hours visit — which an admin does only holding what the policy names (rules.test.ts).
 */
const PACK_NAMED: readonly VisitAction[] = [
  'authorise',
  'sign-list',
  'assess-risk',
  'approve-commute',
  'approve-out-of-hours',
];

const packs = loadPolicyPacks('config/policies');
const school = configWith().schools[0]!;
const RULES = [
  ['statutory'],
  ['statutory', 'heath-lane'],
  ['statutory', 'hampton'],
  ['statutory', 'kings-gomer'],
  ['statutory', 'lime-hills'],
  ['statutory', 'thames-view'],
].map((policies) => ({ policies, rules: visitRulesFor({ ...school, policies }, packs) }));

/** Each role alone, none on the visit nor its requester, no position. */
const ROLE_HOLDERS: readonly Actor[] = (
  ['office', 'safeguarding', 'visiting-staff', 'data-manager'] as const
).map((r) => ({ id: `a-${r}`, roles: [r], positions: [] }));
const admin: Actor = { id: 'admin', roles: ['admin'], positions: [] };

const T = new Date('2026-11-23T10:00:00Z');
const out = (o: Partial<LifecycleVisit> = {}): LifecycleVisit => ({
  ...visitBeforeLeaving('departed'),
  partnerUserId: 'partner',
  departedAt: T,
  hasSafeWord: true,
  ...o,
});
/** A visit in each state an action starts from. */
const VISITS: Record<string, LifecycleVisit> = {
  'requested, led': visitBeforeLeaving('requested'),
  'requested, nobody leads it': visitBeforeLeaving('requested', { lead: null, requestedBy: 'req' }),
  authorised: visitBeforeLeaving('authorised'),
  'authorised, day passed': { ...visitBeforeLeaving('authorised'), dayPassed: true },
  'out, with a safe word': out(),
  'out, at the door': out({ arrivedAt: T, doorWaitMinutes: 40, parentSaidLate: true }),
  'out, own return time closed': out({ ownReturnTimeClosed: true }),
  'back safe, just now': out({ status: 'returned', returnedAt: T, recentlyBack: true }),
  'completed, child not seen, agreements': out({
    status: 'completed',
    returnedAt: T,
    outcomeRecorded: true,
    childSeen: false,
    agreements: 2,
  }),
};

describe('an admin may do on a visit what every role does', () => {
  it('is allowed every action any one role is (the policy’s named authorities apart), at every school and state', () => {
    const missing: string[] = [];
    for (const { policies, rules } of RULES)
      for (const [state, v] of Object.entries(VISITS)) {
        const admins = allowedActions(v, admin, rules);
        for (const holder of ROLE_HOLDERS)
          for (const a of allowedActions(v, holder, rules))
            if (!PACK_NAMED.includes(a) && !admins.includes(a))
              missing.push(`${policies.at(-1)} / ${state}: ${holder.roles[0]} may ${a}, admin may not`);
      }
    expect(missing).toEqual([]);
  });

  it('and every such action an admin is allowed is one some role is: holding every role gives no more', () => {
    const extra: string[] = [];
    for (const { policies, rules } of RULES)
      for (const [state, v] of Object.entries(VISITS)) {
        const any = new Set(ROLE_HOLDERS.flatMap((h) => allowedActions(v, h, rules)));
        for (const a of allowedActions(v, admin, rules))
          if (!any.has(a)) extra.push(`${policies.at(-1)} / ${state}: admin may ${a}, no role may`);
      }
    expect(extra).toEqual([]);
  });

  it('holdsRole: the role itself, or admin', () => {
    expect(holdsRole({ roles: ['office'] }, 'office')).toBe(true);
    expect(holdsRole({ roles: ['office'] }, 'safeguarding')).toBe(false);
    expect(holdsRole({ roles: ['admin'] }, 'safeguarding')).toBe(true);
    expect(holdsRole({ roles: [] }, 'visiting-staff')).toBe(false);
  });
});
