import { describe, expect, it } from 'vitest';
import { fobWatchGap } from '../../src/checks/fob-watch.ts';
import { visitRulesFor } from '../../src/config/policy-packs.ts';
import { configWith } from '../helpers/config.ts';

/**
 * Heath Lane sends staff out with a PeopleSafe fob and no check-in interval: a fob gone flat on a visit
 * raised nothing until the visit was overdue (up to 4 hours) unless the school had set how long a fob
 * may be silent. `doorstep check` and the data page say so.
 */
describe('a fob the policy requires that nothing watches', () => {
  const config = configWith({ school: '' });
  const gap = (policies: string[], silentAlarmMinutes?: number) => {
    const base = config.schools[0]!;
    const s = { ...base, policies, fobs: { ...base.fobs, silentAlarmMinutes } };
    return fobWatchGap(s, visitRulesFor(s, config.packs));
  };

  it('is said for a fob policy without silentAlarmMinutes', () => {
    expect(gap(['statutory', 'heath-lane'])).toMatch(
      /^the policy sends staff out with a fob, but fobs.silentAlarmMinutes is not set: a fob that goes flat or off on a visit raises nothing until the visit is overdue/,
    );
  });

  it('is not said once the school sets it, nor where no fob is required', () => {
    expect(gap(['statutory', 'heath-lane'], 30)).toBeNull();
    expect(gap(['statutory', 'lime-hills'])).toBeNull();
  });
});
