import { describe, expect, it } from 'vitest';
import type { DoorstepConfig, SchoolConfig } from '../../src/config/schema.ts';
import { deviceHomes, deviceLookingLike, feedProfiles } from '../../src/config/school-of.ts';
import { configWith } from '../helpers/config.ts';

/** The trust's device registry, as the alarm path reads it for an alarm from another school's device. */
const base = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
      devices:
        - { deviceId: PS-A1, staffId: staff-a1 }
        - { deviceId: PS-X, staffId: staff-ax }
`,
});
const alpha = base.schools[0]!;
const school = (
  id: string,
  devices: { deviceId: string; staffId: string }[],
  profile?: string,
): SchoolConfig =>
  ({
    ...alpha,
    id,
    name: id,
    fobs: {
      ...alpha.fobs,
      transports: profile ? [{ ...alpha.fobs.transports[0]!, profile }] : [],
      devices,
    },
  }) as SchoolConfig;
const trust: DoorstepConfig = {
  ...base,
  schools: [
    alpha,
    school('beta', [{ deviceId: 'PS-B7', staffId: 'staff-b7' }]),
    school('gamma', [{ deviceId: 'ps-x', staffId: 'staff-gx' }], 'generic'),
  ],
};

describe("the trust's device registry", () => {
  it('finds the school of a device; a device two schools register has no home', () => {
    const home = deviceHomes(trust);
    expect(home('PS-B7')?.id).toBe('beta');
    expect(home('PS-A1')?.id).toBe('alpha');
    expect(home('ps-b7')).toBeUndefined();
  });

  it('a device whose id differs only in letter case is found trust-wide, unless two differ so', () => {
    const like = deviceLookingLike(trust);
    expect(like('ps-b7')).toMatchObject({ deviceId: 'PS-B7', staffId: 'staff-b7', school: { id: 'beta' } });
    // PS-X at alpha and ps-x at gamma: neither is named.
    expect(like('Ps-X')).toBeUndefined();
    expect(like('PS-Z9')).toBeUndefined();
  });

  it('names the vendors of every feed of the trust', () => {
    expect([...feedProfiles(trust)].sort()).toEqual([alpha.fobs.transports[0]!.profile, 'generic'].sort());
  });
});
