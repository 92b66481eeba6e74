import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../src/config/policy-packs.ts';
import { evaluatePupil } from '../../src/domain/triggers/evaluate.ts';
import { calendar, pupil } from '../domain/triggers/helpers.ts';
import { configWith } from '../helpers/config.ts';

/**
 * README ("Runs of absence"): "more than five school days in a row with no mark at all (an export
 * that stopped) say nothing of the child, and end the run" — the days after a run's last day as much
 * as the days inside it. Every run-based rule (`consecutive-absence`: Heath Lane's 3 days, the 10-day
 * return, the 20-day removal review) shares the one count.
 */
const packs = loadPolicyPacks('config/policies');
const rulesOf = (pack: string) =>
  rulesForSchool({ ...configWith().schools[0]!, policies: [pack] }, packs).rules;
const finding = (p: ReturnType<typeof pupil>, pack: string, key: string, today: string) =>
  evaluatePupil(p, rulesOf(pack), { today, explain: true }).find((x) => x.ruleKey === key)!;

describe('marks that stop arriving end a run', () => {
  // N on Mon 10 – Wed 12 Nov, nothing since (the export stopped).
  const p = pupil({ '2025-11-10': 'N', '2025-11-11': 'N', '2025-11-12': 'N' }, { to: '2025-11-12' });
  const heath = (today: string) => finding(p, 'heath-lane', 'heath-lane:absent-3-days', today).fired;

  it('a week of no marks after the run is passed over: the home visit is still asked for five school days on', () => {
    // 13, 17, 18, 19, 20 Nov: five school days unmarked (14th is INSET, 15–16 a weekend).
    expect(calendar.between('2025-11-13', '2025-11-20')).toHaveLength(5);
    expect(heath('2025-11-20')).toBe(true);
  });

  it('more than five school days with no mark: the run has ended — no visit asked for on the sixth, nor three weeks on', () => {
    expect(heath('2025-11-21')).toBe(false);
    expect(heath('2025-12-05')).toBe(false);
  });

  it('the 20-day removal review: 20 days of G, then marks stop — no review prompted three weeks later', () => {
    const days = calendar.between('2025-09-22', '2025-11-18');
    const g = pupil(Object.fromEntries(days.slice(-20).map((d) => [d, 'G'])), { to: '2025-11-18' });
    const review = (today: string) =>
      finding(g, 'statutory', 'statutory:removal-from-roll-review-20', today).fired;
    expect(review('2025-11-18')).toBe(true);
    expect(review('2025-12-05')).toBe(false);
    // The 10-day return is still due for the run that happened (`afterReturn`): it ended, it was real.
    expect(finding(g, 'statutory', 'statutory:continuous-unauthorised-10', '2025-12-05').fired).toBe(true);
  });
});
