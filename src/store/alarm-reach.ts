/**
 * Whose alarms a school's reads find. A bare school id: that school's alone. With `configured` (the
 * config's school ids, given for the trust's `orphansTo` school only): also every alarm at a school
 * not among them — one removed from the config, or its id renamed, while its alarm was open. That
 * school's board shows them (`withinReach`: who holds an alarm now), and its channels page for them;
 * the answers to those pages (an SMS reply with its code, a keypress on its call, the provider's
 * delivery reports) arrive on its routes, and find what its channels sent (`sentThrough`: who sent a
 * message, not who holds the alarm now).
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

/**
 * The SQL condition that notification `n` of alarm `a` (aliases) went out through the reach's school's
 * channels, for the answers that come back on its routes — an SMS reply's code, a keypress on its call,
 * the provider's delivery reports: the school's own alarms, and those of any other school its channels
 * sent for (`n.via_schools`, kept by the sender: an alarm of a school the config no longer held then,
 * `trust.orphansTo`) — whatever the config says now. Never the config's list alone: put the missing
 * school back and the answers to what was already sent through this school's channels would be lost,
 * and another configured school's alarm is never within it. And with the reach's `configured`
 * (`reachParams` at `$n`: the `orphansTo` school), every notification of an alarm of a school not
 * among them, as the reach counted it before the sender kept `via_schools` (migration 079): what was
 * sent before it, and what names an id the `orphansTo` school no longer has (its id renamed since).
 */
export function sentThrough(a: string, n: string, reach: AlarmReach, school: number, ids: number): string {
  const before079 = configuredOf(reach) ? ` OR ${a}.school_id <> ALL($${ids}::text[])` : '';
  return `(${a}.school_id = $${school} OR (${n}.via_schools <> '{}' AND $${school} = ANY(${n}.via_schools))${before079})`;
}

/** The parameter `withinReach` reads at `$n`: the config's school ids, or none. */
export function reachParams(reach: AlarmReach): unknown[] {
  const configured = configuredOf(reach);
  return configured ? [[...configured]] : [];
}
