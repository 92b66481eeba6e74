/**
 * How an alarm ends, and what each ending means. A person resolving one picks one of these (none is
 * preselected); the visit watcher and the register clear their own alarms as `worker_safe` when the
 * worker checks in or is back safe.
 *
 * - `safe`: the worker is safe (spoken to, running late, back). Not an incident: no record.
 * - `not-real`: a test or a false alarm. Kept in the timeline and audit; no incident record.
 * - `incident`: something happened. Writes the lone-worker incident record (to CPOMS).
 */
export const RESOLUTIONS = {
  worker_safe_contacted: { kind: 'safe', label: 'the worker is safe: the office spoke to them' },
  worker_safe_running_late: { kind: 'safe', label: 'the worker is safe, running late' },
  worker_safe: { kind: 'safe', label: 'the worker is safe and back' },
  test: { kind: 'not-real', label: 'a test' },
  false_alarm: { kind: 'not-real', label: 'a false alarm' },
  incident_without_dispatch: {
    kind: 'incident',
    label: 'an incident, resolved without police or ambulance',
  },
  incident_with_dispatch: { kind: 'incident', label: 'an incident, with police or ambulance dispatched' },
} as const satisfies Record<string, { kind: 'safe' | 'not-real' | 'incident'; label: string }>;

export type ResolutionReason = keyof typeof RESOLUTIONS;
export type ResolutionKind = (typeof RESOLUTIONS)[ResolutionReason]['kind'];

/** The reasons a person may give (worker_safe is the register's own: the worker back or checked in). */
export const PERSON_RESOLUTION_REASONS = (Object.keys(RESOLUTIONS) as ResolutionReason[]).filter(
  (r) => r !== 'worker_safe',
) as [PersonResolutionReason, ...PersonResolutionReason[]];
export type PersonResolutionReason = Exclude<ResolutionReason, 'worker_safe'>;

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
