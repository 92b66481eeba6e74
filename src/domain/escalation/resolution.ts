/**
 * How an alarm ends. A person resolving one gives one of these reasons (each writes the lone-worker
 * incident record, where the wording below is used); the visit watcher's own alarms are also
 * cleared as `worker_safe` when the worker checks in or is back, which is not an incident.
 */
export const RESOLUTION_REASONS = {
  test: 'a test',
  false_alarm: 'a false alarm',
  incident_without_dispatch: 'an incident, resolved without police or ambulance',
  incident_with_dispatch: 'an incident, with police or ambulance dispatched',
} as const;

export type PersonResolutionReason = keyof typeof RESOLUTION_REASONS;
export const PERSON_RESOLUTION_REASONS = Object.keys(RESOLUTION_REASONS) as [
  PersonResolutionReason,
  ...PersonResolutionReason[],
];
export type ResolutionReason = PersonResolutionReason | 'worker_safe';
