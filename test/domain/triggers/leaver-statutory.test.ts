import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../../src/config/policy-packs.ts';
import { evaluatePupil } from '../../../src/domain/triggers/evaluate.ts';
import { configWith } from '../../helpers/config.ts';
import { calendar, pupil } from './helpers.ts';

/**
 * The change (a leaver for a known destination judged by left-roll rules only). The statutory
 * 10-day return is `afterReturn`: "any run of 10 that ended this year raises it … and it stays raised
 * for the year" (config/policies/statutory.yaml). A pupil who was absent 10 school days unauthorised
 * while on roll and then left for a known school: the return to the local authority for those 10 days
 * is still the school's (the absence happened on its roll) — but every rule but left-roll now answers
 * "not fired", so the open episode is closed by the next evaluation, and a run imported late is never
 * raised at all.
 */
const packs = loadPolicyPacks('config/policies');
const rulesOf = (...ids: string[]) => {
  const school = configWith({ school: '' }).schools[0]!;
  const r = rulesForSchool({ ...school, policies: ids }, packs);
  expect(r.problems).toEqual([]);
  return r.rules;
};
const fired = (p: ReturnType<typeof pupil>, ids: string[], today: string) =>
  evaluatePupil(p, rulesOf(...ids), { today })
    .filter((f) => f.fired)
    .map((f) => `${f.ruleKey} → ${f.action} by ${f.role}`);

describe('a leaver with a known destination and the statutory returns', () => {
  it('10 school days of O while on roll, then left for Other Academy: the LA return stays raised', () => {
    const marks: Record<string, string> = {};
    for (const d of calendar.between('2025-11-03', '2025-11-18')) marks[d] = 'O'; // 10 school days (INSET 14th)
    const p = pupil(marks, { to: '2025-11-20' }); // back on 19th and 20th
    const RETURN = 'statutory:continuous-unauthorised-10 → la-notification by attendance-officer';
    expect(fired(p, ['statutory'], '2025-11-20')).toContain(RETURN);
    expect(fired(p, ['statutory'], '2025-11-24')).toContain(RETURN); // control: still raised, not leaving
    // Leaves on Friday 21st for a known school; the nightly of Monday 24th.
    p.leaving = { on: '2025-11-21', destination: 'Other Academy' };
    expect(fired(p, ['statutory'], '2025-11-24')).toContain(RETURN);
  });
});
