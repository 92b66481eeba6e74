import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { feedProfiles } from '../config/school-of.ts';

/**
 * A school that registers fobs but has no feed of its own hears its fobs' alarms only through the
 * trust's feeds — and only when they are all of one vendor (its devices name none, and another
 * vendor's fob with the same id must not be raised there under its wearer's name). Otherwise its fobs'
 * alarms are raised at the school whose feed brings them, as unknown devices: its own office never
 * hears. Said, with what to do.
 */
export function fobRoutingGap(s: SchoolConfig, config: DoorstepConfig): string | null {
  if (s.fobs.devices.length === 0 || s.fobs.transports.length > 0) return null;
  const vendors = [...feedProfiles(config)].sort();
  if (vendors.length === 0)
    return `registers ${s.fobs.devices.length} fob(s) but no school of the trust has a fob feed: their alarms reach no one — add the vendor's feed (fobs.transports)`;
  if (vendors.length === 1) return null;
  return `registers ${s.fobs.devices.length} fob(s) but has no feed of its own, and the trust's feeds are of several vendors (${vendors.join(', ')}): its fobs' alarms are raised as unknown devices at the school whose feed brings them, never here — give this school its vendor's feed (fobs.transports)`;
}
