import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../src/config/policy-packs.ts';
import { evaluatePupil } from '../../src/domain/triggers/evaluate.ts';
import { pupil } from '../domain/triggers/helpers.ts';
import { configWith } from '../helpers/config.ts';

/**
 * Marks that stop arriving after a run of absence (an export that stopped, a school that uploads
 * weekly and is a few days behind, a holiday a school without term dates does not declare) leave the
 * run as it was last known: the child was absent and nothing says they came back, so the home visit
 * is still asked for — the data page says the marks are stale. Ending the run there would make a
 * weekly-upload school's visits come and go with its uploads, and hide a child while the export is broken.
 */
const packs = loadPolicyPacks('config/policies');
const rulesOf = (pack: string) =>
  rulesForSchool({ ...configWith().schools[0]!, policies: [pack] }, packs).rules;

describe('marks that stop arriving after a run of absence', () => {
  // N on Mon 10 – Wed 12 Nov, nothing since.
  const p = pupil({ '2025-11-10': 'N', '2025-11-11': 'N', '2025-11-12': 'N' }, { to: '2025-11-12' });
  const heath = (today: string) =>
    evaluatePupil(p, rulesOf('heath-lane'), { today, explain: true }).find(
      (x) => x.ruleKey === 'heath-lane:absent-3-days',
    )!.fired;

  it('leave the run standing: the home visit is still asked for a week and three weeks on', () => {
    expect(heath('2025-11-20')).toBe(true);
    expect(heath('2025-11-21')).toBe(true);
    expect(heath('2025-12-05')).toBe(true);
  });
});
