import type { DoorstepConfig, SchoolConfig } from './schema.ts';

/**
 * Whether a device id in `school`'s registry names a fob of vendor `profile` (devices name no vendor,
 * their feeds do): its feeds include one of that vendor; or it has no feed of its own (its fobs reach
 * it through the trust's feeds) and every feed of the trust (`trustProfiles`) is of that vendor. The
 * same id at a school with another vendor's fobs is another device. The test the ingest routes an
 * alarm to the school registering its device by (`alarmHome`), and a departure looks for the fob out
 * with a visit of another school by (`schoolsSharingFobs`).
 */
export function registersVendor(
  school: SchoolConfig,
  profile: string,
  trustProfiles: ReadonlySet<string>,
): boolean {
  const feeds = school.fobs.transports;
  if (feeds.length > 0) return feeds.some((t) => t.profile === profile);
  return [...trustProfiles].every((p) => p === profile);
}

/**
 * The other schools of the trust at which a device id of `school`'s registry may name the same fob:
 * those registering a vendor of its fobs (`registersVendor`) — the vendors of its own feeds, or with
 * none (its fobs come through the trust's feeds) any of the trust's. A trust with no feed at all
 * names no vendor: every other school (when in doubt, the same fob).
 */
export function schoolsSharingFobs(
  config: DoorstepConfig,
  school: SchoolConfig,
  trustProfiles: ReadonlySet<string>,
): SchoolConfig[] {
  const own = school.fobs.transports.map((t) => t.profile);
  const vendors = own.length > 0 ? own : [...trustProfiles];
  return config.schools.filter(
    (s) =>
      s.id !== school.id &&
      (vendors.length === 0 || vendors.some((p) => registersVendor(s, p, trustProfiles))),
  );
}
