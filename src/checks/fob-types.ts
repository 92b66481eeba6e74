import type { SchoolConfig } from '../config/schema.ts';

/**
 * What a school's `generic` fob feeds do with a type their map does not name, where it may surprise:
 * with no `notAlarms` the gateway's heartbeats, positions and battery reports each page as an SOS
 * (raising is the default: a vendor's new alert kind must reach someone); with `unmappedTypes:
 * refuse` a new alert kind pages no one. Said, with what to do.
 */
export function genericTypeGaps(s: SchoolConfig): string[] {
  const gaps: string[] = [];
  s.fobs.transports.forEach((t, i) => {
    if (t.profile !== 'generic' || !t.mapping) return;
    const at = `fobs.transports[${i}] (${t.kind}, generic)`;
    if (t.mapping.unmappedTypes === 'refuse')
      gaps.push(
        `${at} sets unmappedTypes: refuse — an event type its map does not name (a vendor's new alert kind) is refused and pages no one; remove it and list the types that are no alarm in notAlarms`,
      );
    else if ((t.mapping.notAlarms ?? []).length === 0)
      gaps.push(
        `${at} lists no notAlarms — every event type its map does not name is raised as an SOS; list the gateway's heartbeat, position and battery types there (or map them), or each will page`,
      );
  });
  return gaps;
}
