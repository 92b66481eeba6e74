/**
 * How an alarm ends, and what each ending means. A person resolving one picks one of these (none is
 * preselected); the register's own (`register: true`) are never picked: the register and the visit
 * watcher stand their alarms down with them when the worker checks in, arrives or is back safe.
 *
 * - `safe`: the worker is safe (spoken to, running late, checked in, back). Not an incident: no record.
 * - `not-real`: a test or a false alarm. Kept in the timeline and audit; no incident record.
 * - `incident`: something happened. Writes the lone-worker incident record (to CPOMS).
 *
 * A check-in or an arrival says the worker is safe now, not back: they are still out and watched, so
 * it is said so ("checked in, still out"), never "safe and back" — that is back safe's alone.
 * Stored reasons are held to this list in SQL too (`alarms_resolution_reason_check`, migration 062).
 */
export const RESOLUTIONS = {
  worker_safe_contacted: { kind: 'safe', label: 'the worker is safe: the office spoke to them' },
  worker_safe_running_late: { kind: 'safe', label: 'the worker is safe, running late' },
  worker_checked_in: { kind: 'safe', label: 'the worker checked in, still out', register: true },
  worker_arrived: { kind: 'safe', label: 'the worker arrived, still out', register: true },
  worker_safe: { kind: 'safe', label: 'the worker is safe and back', register: true },
  test: { kind: 'not-real', label: 'a test' },
  false_alarm: { kind: 'not-real', label: 'a false alarm' },
  incident_without_dispatch: {
    kind: 'incident',
    label: 'an incident, resolved without police or ambulance',
  },
  incident_with_dispatch: { kind: 'incident', label: 'an incident, with police or ambulance dispatched' },
} as const satisfies Record<
  string,
  { kind: 'safe' | 'not-real' | 'incident'; label: string; register?: true }
>;

export type ResolutionReason = keyof typeof RESOLUTIONS;
export type ResolutionKind = (typeof RESOLUTIONS)[ResolutionReason]['kind'];

/** The register's own reasons: the worker checked in, arrived, or back safe — never a person's pick. */
export type RegisterResolutionReason = {
  [K in ResolutionReason]: (typeof RESOLUTIONS)[K] extends { register: true } ? K : never;
}[ResolutionReason];

/** The reasons a person may give: the one list a person's resolution is checked against (board, CLI). */
export const PERSON_RESOLUTION_REASONS = (Object.keys(RESOLUTIONS) as ResolutionReason[]).filter(
  (r) => !('register' in RESOLUTIONS[r]),
) as [PersonResolutionReason, ...PersonResolutionReason[]];
export type PersonResolutionReason = Exclude<ResolutionReason, RegisterResolutionReason>;

/**
 * The reasons that mean the person resolving spoke to the worker: from someone not on the visit, such
 * a resolution confirms the worker safe, as the office recording a check-in does (the running-late
 * bound counts from it: `lastConfirmedByOthers`, `runningLateProblem`).
 */
export const SPOKE_TO_WORKER_REASONS: readonly ResolutionReason[] = ['worker_safe_contacted'];

/** The wording of each reason, as the board, the CLI and the incident record say it. */
export const RESOLUTION_REASONS: Record<ResolutionReason, string> = Object.fromEntries(
  Object.entries(RESOLUTIONS).map(([k, v]) => [k, v.label]),
) as Record<ResolutionReason, string>;

/** Only an incident writes the lone-worker incident record. */
export function writesIncidentRecord(reason: ResolutionReason): boolean {
  return RESOLUTIONS[reason].kind === 'incident';
}

/**
 * The reason an alarm is resolved with when the person gives none: a TEST alarm (a fob drill) is
 * resolved as `test`; any other alarm needs a reason chosen by a person (null).
 */
export function defaultResolution(alarm: { test: boolean }): PersonResolutionReason | null {
  return alarm.test ? 'test' : null;
}
