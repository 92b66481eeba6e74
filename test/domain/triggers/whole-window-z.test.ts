import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../../src/config/policy-packs.ts';
import { evaluatePupil } from '../../../src/domain/triggers/evaluate.ts';
import { configWith } from '../../helpers/config.ts';
import { pupil } from './helpers.ts';

/**
 * The change (Thames View's "below 90% over the course of three months" judges only a pupil
 * whose register covers the window: `wholeWindow`). Coverage is "any mark in the window's first
 * school week" — but a mark that says the pupil was not on roll (Z, prospective pupil not yet on
 * roll, as a register records the sessions of the year before an admission) is a mark. A pupil who
 * joined on 3 November is then judged over the three months on five weeks of register, exactly what
 * the switch was added to stop; the same pupil without the Z marks is (rightly) not judged.
 */
const packs = loadPolicyPacks('config/policies');
const rulesOf = (...ids: string[]) => {
  const school = configWith({ school: '' }).schools[0]!;
  const r = rulesForSchool({ ...school, policies: ids }, packs);
  expect(r.problems).toEqual([]);
  return r.rules;
};
const TODAY = '2025-12-05'; // window from 2025-09-06

function joinedInNovember(withZ: boolean) {
  const marks: Record<string, string | [string, string]> = {};
  // Not on roll until Monday 3 November: Z on every session before (or no mark at all).
  const p = pupil(
    {
      ...marks,
      '2025-11-05': 'O',
      '2025-11-12': 'O',
      '2025-11-19': 'O',
      '2025-11-26': 'O',
      '2025-12-03': 'O',
    },
    { from: '2025-11-03', to: TODAY },
  );
  if (withZ)
    for (const d of ['2025-09-03', '2025-09-04', '2025-09-05', '2025-09-08', '2025-09-09', '2025-09-10']) {
      p.set(d, 'AM', 'Z');
      p.set(d, 'PM', 'Z');
    }
  return p;
}

describe('wholeWindow and a register that says "not on roll"', () => {
  it('a pupil on roll since 3 November is not judged over three months, with or without Z before', () => {
    const judged = (p: ReturnType<typeof pupil>) =>
      evaluatePupil(p, rulesOf('thames-view'), { today: TODAY, explain: true }).find(
        (f) => f.ruleKey === 'thames-view:below-90-three-months',
      )!;
    const noMarks = judged(joinedInNovember(false));
    expect(noMarks.fired).toBe(false); // as the commit intends: "the pupil's register begins later"
    const withZ = judged(joinedInNovember(true));
    // Actual: fired — "attendance 79.2% (38/48 sessions) from 2025-09-06 …": an LA notification.
    expect(withZ.fired, withZ.explanation).toBe(false);
  });
});
