import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../../src/config/policy-packs.ts';
import { evaluatePupil } from '../../../src/domain/triggers/evaluate.ts';
import { configWith } from '../../helpers/config.ts';
import { calendar, pupil } from './helpers.ts';

/**
 * The change (a 10-day run from July into September keeps its LA return). `latestEndedRun`
 * now starts at the run that day `first` continues — the day before `first` in the calendar's list,
 * whatever lies between. unresolved-code.ts bounds its look-back (SUMMER_LOOKBACK_DAYS: "a calendar
 * that does not know last year's terms would otherwise make December's N five days before
 * September"); consecutive-absence.ts has no such bound. With a calendar that does not know last
 * year's spring and summer terms (as the tests' own calendar: autumn 2024, then autumn 2025), five
 * days of O in December 2024 and five in September 2025 are "10 school days' continuous unauthorised
 * absence — notify the local authority".
 */
const packs = loadPolicyPacks('config/policies');
const rulesOf = (...ids: string[]) => {
  const school = configWith({ school: '' }).schools[0]!;
  const r = rulesForSchool({ ...school, policies: ids }, packs);
  expect(r.problems).toEqual([]);
  return r.rules;
};

describe('an ended run across terms the calendar does not know', () => {
  it('5 days O in December 2024 + 5 days O in September 2025 (nine months apart) are no 10-day continuous absence', () => {
    const marks: Record<string, string> = {};
    for (const d of calendar.between('2024-12-16', '2024-12-20')) marks[d] = 'O';
    for (const d of calendar.between('2025-09-03', '2025-09-09')) marks[d] = 'O';
    const p = pupil(marks, { from: '2024-12-16', to: '2025-09-19' }); // present since 10 September
    const [f] = evaluatePupil(p, rulesOf('statutory'), { today: '2025-09-19', explain: true }).filter(
      (x) => x.ruleKey === 'statutory:continuous-unauthorised-10',
    );
    // Actual: fired, "absent 10 school days in a row (2024-12-16 to 2025-09-09)".
    expect(f!.fired, f!.explanation).toBe(false);
  });
});
