import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../src/config/policy-packs.ts';
import { evaluatePupil } from '../../src/domain/triggers/evaluate.ts';
import { calendar, pupil } from '../domain/triggers/helpers.ts';
import { configWith } from '../helpers/config.ts';

/**
 * A pupil who left the roll for a known school (a destination in the MIS) keeps only the statutory
 * duties for their time on this roll (`afterLeaving`): the 10-day return, the `N` deadline, the
 * illness return. Not the removal-from-roll review — reg. 9(1)(i) needs the school and the LA to have
 * failed to find the pupil after reasonable enquiry (attendance.md), and this one is found and off
 * roll already — nor persistent or severe absence, measures of a pupil on roll.
 */
const packs = loadPolicyPacks('config/policies');
const rules = rulesForSchool({ ...configWith().schools[0]!, policies: ['statutory'] }, packs).rules;
const fired = (p: ReturnType<typeof pupil>, today: string) =>
  evaluatePupil(p, rules, { today })
    .filter((f) => f.fired)
    .map((f) => f.ruleKey.split(':')[1])
    .sort();

// Ill (I) for the year's first 15 school days, then away (G) for the 20 school days before leaving,
// the last of them an N never resolved.
const days = calendar.between('2025-09-03', '2025-11-18');
const marks: Record<string, string> = {
  ...Object.fromEntries(days.slice(0, 15).map((d) => [d, 'I'])),
  ...Object.fromEntries(days.slice(-20).map((d) => [d, 'G'])),
  '2025-11-18': 'N',
};
// Five school days after the last mark: within the week of no marks a run passes over.
const TODAY = '2025-11-25';
const ON_ROLL_DUTIES = ['continuous-unauthorised-10', 'illness-15', 'n-unresolved'];

describe('the statutory pack for a pupil who left the roll', () => {
  it('on roll: every statutory rule the marks meet fires', () => {
    expect(fired(pupil(marks, { to: '2025-11-18' }), TODAY)).toEqual(
      [...ON_ROLL_DUTIES, 'persistent-absence', 'removal-from-roll-review-20', 'severe-absence'].sort(),
    );
  });

  it('left for a known destination: the duties for their time on roll only — no removal review, no persistent or severe absence', () => {
    const p = pupil(marks, { to: '2025-11-18' });
    p.leaving = { on: '2025-11-19', destination: 'Other Academy' };
    expect(fired(p, TODAY)).toEqual(ON_ROLL_DUTIES);
    const pack = packs.get('statutory')!;
    expect(
      pack.rules
        .filter((r) => r.afterLeaving)
        .map((r) => r.id)
        .sort(),
    ).toEqual(ON_ROLL_DUTIES);
  });

  it('before the leaving day, or gone where nobody knows: still judged on everything', () => {
    const before = pupil(marks, { to: '2025-11-18' });
    before.leaving = { on: '2025-12-08', destination: 'Other Academy' };
    expect(fired(before, TODAY)).toContain('removal-from-roll-review-20');
    const unknown = pupil(marks, { to: '2025-11-18' });
    unknown.leaving = { on: '2025-11-19', destination: null };
    expect(fired(unknown, TODAY)).toContain('removal-from-roll-review-20');
  });
});
