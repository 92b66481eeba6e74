/**
 * Whose alarms a school's reads find. A bare school id: that school's alone. With `configured` (the
 * config's school ids, given for the trust's `orphansTo` school only): also every alarm at a school
 * not among them — one removed from the config, or its id renamed, while its alarm was open. That
 * school's board shows them, its channels page for them, and so the answers to those pages (an SMS
 * reply with its code, a keypress on its call, the provider's delivery reports) arrive on its routes.
 */
export type AlarmReach = string | { schoolId: string; configured: readonly string[] | null };

/** The school the reach is of. */
export function reachSchool(reach: AlarmReach): string {
  return typeof reach === 'string' ? reach : reach.schoolId;
}

function configuredOf(reach: AlarmReach): readonly string[] | null {
  return typeof reach === 'string' ? null : reach.configured;
}

/**
 * The SQL condition that alarm `a` (an alias) is within the reach: its school's id in `$school`, and —
 * only when the reach brings in the schools the config no longer holds — the config's ids in `$n`
 * (`reachParams` gives that parameter, or none). Any other school's condition is exact, as it always was.
 */
export function withinReach(a: string, reach: AlarmReach, school: number, n: number): string {
  return configuredOf(reach)
    ? `(${a}.school_id = $${school} OR ${a}.school_id <> ALL($${n}::text[]))`
    : `${a}.school_id = $${school}`;
}

/** The parameter `withinReach` reads at `$n`: the config's school ids, or none. */
export function reachParams(reach: AlarmReach): unknown[] {
  const configured = configuredOf(reach);
  return configured ? [[...configured]] : [];
}
