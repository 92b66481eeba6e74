import { describe, expect, it } from 'vitest';
import { fobRoutingGap } from '../../src/checks/fob-routing.ts';
import type { DoorstepConfig, SchoolConfig } from '../../src/config/schema.ts';
import { configWith } from '../helpers/config.ts';

/**
 * A school that registers fobs but has no feed of its own is reached through the trust's feeds only
 * when they are all of one vendor: otherwise its fobs' alarms go to another school's board as unknown
 * devices. `doorstep check` says so.
 */
describe("a school whose fobs' alarms cannot reach it", () => {
  const base = configWith({
    school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
`,
  });
  const alpha = base.schools[0]!;
  const feed = alpha.fobs.transports[0]!;
  const noFeed = {
    ...alpha,
    id: 'delta',
    fobs: { ...alpha.fobs, transports: [], devices: [{ deviceId: 'PS-D1', staffId: 'staff-d1' }] },
  } as SchoolConfig;
  const trust = (...schools: SchoolConfig[]): DoorstepConfig => ({ ...base, schools });
  const withFeed = (profile: string) =>
    ({
      ...alpha,
      id: `with-${profile}`,
      fobs: { ...alpha.fobs, transports: [{ ...feed, profile }] },
    }) as SchoolConfig;

  it('is said when the trust has feeds of several vendors, or none at all', () => {
    expect(fobRoutingGap(noFeed, trust(withFeed(feed.profile), withFeed('generic'), noFeed))).toMatch(
      /^registers 1 fob\(s\) but has no feed of its own, and the trust's feeds are of several vendors \(.*generic.*\): its fobs' alarms are raised as unknown devices at the school whose feed brings them, never here/,
    );
    expect(fobRoutingGap(noFeed, trust(noFeed))).toMatch(
      /no school of the trust has a fob feed: their alarms reach no one/,
    );
  });

  it('is not said when the trust has one vendor, nor for a school with a feed or no fobs', () => {
    expect(fobRoutingGap(noFeed, trust(withFeed(feed.profile), noFeed))).toBeNull();
    expect(fobRoutingGap(alpha, trust(alpha, withFeed('generic')))).toBeNull();
    const none = { ...noFeed, fobs: { ...noFeed.fobs, devices: [] } } as SchoolConfig;
    expect(fobRoutingGap(none, trust(withFeed(feed.profile), withFeed('generic'), none))).toBeNull();
  });
});
