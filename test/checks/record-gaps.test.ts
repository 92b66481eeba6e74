import { describe, expect, it } from 'vitest';
import { recordGaps } from '../../src/checks/record-gaps.ts';
import { visitRulesFor } from '../../src/config/policy-packs.ts';
import { agreementsConfig } from '../helpers/agreements.ts';

/** Thames View 2.7 (appointment records on CPOMS) and 4.3 (a note in the attendance record): where they land. */
describe('record gaps', () => {
  const config = agreementsConfig();
  const thames = config.schools.find((s) => s.id === 'thames')!;
  const gaps = (s: typeof thames) => recordGaps(s, visitRulesFor(s, config.packs));

  it('none while CPOMS takes appointment records and an Arbor sink the attendance notes', () => {
    expect(gaps(thames)).toEqual([]);
  });

  it('names the 4.3 note when no Arbor sink takes it, and 2.7 when no CPOMS sink takes appointments', () => {
    expect(gaps({ ...thames, alsoRecordTo: [] })).toEqual([
      expect.stringMatching(/4\.3.*no arbor-pastoral sink takes agreement_broken/),
    ]);
    const arborOnly = {
      ...thames,
      records: { ...thames.alsoRecordTo[0]!, kinds: undefined },
      alsoRecordTo: [],
    };
    expect(gaps(arborOnly as typeof thames)).toEqual([
      expect.stringMatching(
        /^the policy \(2\.7 .*\) asks for appointment records on CPOMS, but no cpoms sink takes visit_appointment$/,
      ),
    ]);
  });

  it('nothing for a school still in preview, nor for a policy that asks for neither', () => {
    expect(
      gaps({
        ...thames,
        records: { sink: 'preview', categories: thames.records.categories },
        alsoRecordTo: [],
      }),
    ).toEqual([]);
    expect(gaps(config.schools.find((s) => s.id === 'lime')!)).toEqual([]);
  });
});
