import type { SchoolConfig } from '../config/schema.ts';

/**
 * What a school's `generic` fob feeds do with a type their map does not name, where it may surprise:
 * with no `notAlarms` the gateway's heartbeats, positions and battery reports each page as an SOS
 * (raising is the default: a vendor's new alert kind must reach someone); with `unmappedTypes:
 * refuse` a new alert kind pages no one. Said, with what to do — and what neither setting stops: a
 * message with no type at all is raised as an SOS whatever they say (one open alarm per device at a
 * time, further ones noted on it until it is acknowledged), so the gateway must send one, or the map's
 * `fields.type` point at a field those messages carry.
 */
export function genericTypeGaps(s: SchoolConfig): string[] {
  const gaps: string[] = [];
  s.fobs.transports.forEach((t, i) => {
    if (t.profile !== 'generic' || !t.mapping) return;
    const at = `fobs.transports[${i}] (${t.kind}, generic)`;
    const typeless = `; a message with no type at ${t.mapping.fields.type} is raised as an SOS whatever notAlarms or unmappedTypes say (one open alarm per device at a time, the next ones noted on it until it is acknowledged): the gateway must send a type with every message (then list or map it), or fields.type must point at a field its heartbeats and positions carry`;
    if (t.mapping.unmappedTypes === 'refuse')
      gaps.push(
        `${at} sets unmappedTypes: refuse — an event type its map does not name (a vendor's new alert kind) is refused and pages no one; remove it and list the types that are no alarm in notAlarms${typeless}`,
      );
    else if ((t.mapping.notAlarms ?? []).length === 0)
      gaps.push(
        `${at} lists no notAlarms — every event type its map does not name is raised as an SOS; list the gateway's heartbeat, position and battery types there (or map them), or each will page${typeless}`,
      );
  });
  return gaps;
}
