import { describe, expect, it } from 'vitest';
import { registersVendor, schoolsSharingFobs } from '../../src/config/fob-vendors.ts';
import type { DoorstepConfig, SchoolConfig } from '../../src/config/schema.ts';
import { feedProfiles } from '../../src/config/school-of.ts';
import { configWith } from '../helpers/config.ts';

/**
 * Where a device id of one school's registry may name the same fob: the schools of a vendor of its
 * fobs — the test the ingest routes an alarm by, and a departure looks for the fob out elsewhere by.
 */
const base = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
`,
});
const alpha = base.schools[0]!; // peoplesafe-style feed
const school = (id: string, profile?: string): SchoolConfig =>
  ({
    ...alpha,
    id,
    name: id,
    fobs: { ...alpha.fobs, transports: profile ? [{ ...alpha.fobs.transports[0]!, profile }] : [] },
  }) as SchoolConfig;
const trustOf = (...schools: SchoolConfig[]): DoorstepConfig => ({ ...base, schools });
const ids = (ss: SchoolConfig[]) => ss.map((s) => s.id);

describe('the schools that may share a fob', () => {
  it("a school's own feeds say its fobs' vendor: another vendor's school is another device", () => {
    const same = school('same', 'peoplesafe-style');
    const other = school('other', 'blackline');
    const trust = trustOf(alpha, same, other);
    expect(ids(schoolsSharingFobs(trust, alpha, feedProfiles(trust)))).toEqual(['same']);
    expect(ids(schoolsSharingFobs(trust, other, feedProfiles(trust)))).toEqual([]);
  });

  it('a school with no feed of its own shares with every school of a one-vendor trust, and is one of them', () => {
    const none = school('none');
    const same = school('same', 'peoplesafe-style');
    const trust = trustOf(alpha, none, same);
    expect(ids(schoolsSharingFobs(trust, none, feedProfiles(trust)))).toEqual(['alpha', 'same']);
    expect(ids(schoolsSharingFobs(trust, alpha, feedProfiles(trust)))).toEqual(['none', 'same']);
    // Two vendors in the trust: a school with no feed is of neither for sure.
    const mixed = trustOf(alpha, none, school('other', 'blackline'));
    expect(ids(schoolsSharingFobs(mixed, alpha, feedProfiles(mixed)))).toEqual([]);
    expect(ids(schoolsSharingFobs(mixed, none, feedProfiles(mixed)))).toEqual(['alpha', 'other']);
  });

  it('a trust with no feed names no vendor: every other school may hold the same fob', () => {
    const trust = trustOf(school('a'), school('b'), school('c'));
    expect(ids(schoolsSharingFobs(trust, trust.schools[0]!, feedProfiles(trust)))).toEqual(['b', 'c']);
  });

  it("routes as the ingest does: a feed's vendor at a school with its own feeds, or the trust's only one", () => {
    const trust = new Set(['peoplesafe-style']);
    expect(registersVendor(alpha, 'peoplesafe-style', trust)).toBe(true);
    expect(registersVendor(alpha, 'blackline', trust)).toBe(false);
    expect(registersVendor(school('none'), 'peoplesafe-style', trust)).toBe(true);
    expect(
      registersVendor(school('none'), 'peoplesafe-style', new Set(['peoplesafe-style', 'blackline'])),
    ).toBe(false);
  });
});
