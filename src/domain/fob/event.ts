import * as z from 'zod';

/**
 * Doorstep's canonical lone-worker device event. Vendor profiles map their payloads onto it; the raw
 * payload is kept beside it. Types that need a person now are alarms.
 */
export const FOB_EVENT_TYPES = [
  'sos',
  'fall',
  'non_movement',
  'duress',
  'silent',
  'timer_started',
  'timer_cancelled',
  'timer_overrun',
  'missed_check_in',
  'check_in',
  'check_out',
  'low_battery',
  'tipped_over',
  'network_timeout',
  'test',
] as const;
export type FobEventType = (typeof FOB_EVENT_TYPES)[number];

/** Events that raise an alarm for the office (escalated until acknowledged). */
export const ALARM_TYPES: ReadonlySet<FobEventType> = new Set([
  'sos',
  'fall',
  'non_movement',
  'duress',
  'silent',
  'timer_overrun',
  'missed_check_in',
  'tipped_over',
  'network_timeout',
]);

/** Events the visit register keeps (start/end of a visit, check-ins). */
export const VISIT_TYPES: ReadonlySet<FobEventType> = new Set([
  'timer_started',
  'timer_cancelled',
  'check_in',
  'check_out',
]);

const isoInstant = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with a zone' });

export const fobEvent = z.strictObject({
  deviceId: z.string().min(1).max(128),
  vendorEventId: z.string().min(1).max(256),
  type: z.enum(FOB_EVENT_TYPES),
  occurredAt: isoInstant,
  receivedAt: isoInstant,
  location: z
    .strictObject({
      lat: z.number().min(-90).max(90),
      lon: z.number().min(-180).max(180),
      accuracyM: z.number().min(0).nullable(),
      fixAt: isoInstant.nullable(),
    })
    .nullable(),
  batteryPercent: z.number().min(0).max(100).nullable(),
  message: z.string().max(2000).nullable(),
  voiceNoteUrl: z.url().nullable(),
});
export type FobEvent = z.output<typeof fobEvent>;

export interface DecodeError {
  /** The field that failed, as a JSON pointer or name. */
  field: string;
  reason: string;
}

export type Decoded = { ok: true; event: FobEvent } | { ok: false; error: DecodeError };

/** Validates a profile's output; the first failing field is named. */
export function checkEvent(candidate: unknown): Decoded {
  const r = fobEvent.safeParse(candidate);
  if (r.success) return { ok: true, event: r.data };
  const issue = r.error.issues[0]!;
  return { ok: false, error: { field: issue.path.join('.') || '(event)', reason: issue.message } };
}
