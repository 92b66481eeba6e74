import { createHash } from 'node:crypto';
import { checkEvent, type Decoded, type FobEventType } from '../../../src/domain/fob/event.ts';
import { type FobProfile, parseObject, type TransportMeta, typeFrom, unknownTypeAlarm } from '../types.ts';

/**
 * Blackline Safety's push notification (https://push.blacklinesafety.com): a POST whose JSON body is
 * `{"alert": {id, status, type, gas_type, date_created, date_last_modified, escalation_protocol,
 * contacts[…], …}}` — its content type given as "www-urlencoded-form" — sent for every device of the
 * accounts the service is added to, unsigned; the service expects a 2xx whose body is the MD5 hex of
 * the request body. Dates are UTC as `YYYY-MM-DD hh:mm:ss` (Blackline's Connect API: "The date … in
 * UTC. Must be in format YYYY-MM-DD hh:mm:ss"). A body not wrapped in `alert` (a relay that unwrapped
 * it) is read as the alert itself. Assumed where the published example is silent: the device is
 * `device.id` (else `device_id`, else `contacts[0].device_id`), the location is `location`
 * `{latitude, longitude, uncertainty, position_date_utc}`.
 */

/** Blackline's `YYYY-MM-DD hh:mm:ss` (UTC) as ISO 8601 with its zone; anything else as sent. */
export function blacklineTime(v: unknown): unknown {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(v)
    ? `${v.replace(' ', 'T')}Z`
    : v;
}

export const BLACKLINE_TYPES: Record<string, FobEventType> = {
  emergency_alert: 'sos',
  fall_detected_alert: 'fall',
  no_motion_occurred: 'non_movement',
  silent_alert: 'silent',
  missed_check_in: 'missed_check_in',
  low_battery: 'low_battery',
  logon: 'check_in',
  logoff: 'check_out',
  network_timeout: 'network_timeout',
  device_tipped_over: 'tipped_over',
};

type Json = Record<string, unknown>;

export class BlacklineProfile implements FobProfile {
  readonly name = 'blackline';

  decode(raw: Buffer, meta: TransportMeta): Decoded {
    const parsed = parseObject(raw);
    if (!parsed.ok) return parsed;
    const wrapped = parsed.value.alert;
    const b =
      wrapped !== null && typeof wrapped === 'object' && !Array.isArray(wrapped)
        ? (wrapped as Json)
        : parsed.value;
    const type = typeFrom(BLACKLINE_TYPES, b.type);
    const contacts = Array.isArray(b.contacts) ? (b.contacts as Json[]) : [];
    const loc = b.location as Json | null | undefined;
    const position = loc?.position_date_utc;
    const candidate = {
      deviceId: (b.device as Json | undefined)?.id ?? b.device_id ?? contacts[0]?.device_id,
      // As sent: a number is read as its digits, anything else not text is unreadable (checkEvent).
      vendorEventId: b.id,
      type,
      occurredAt: blacklineTime(b.date_created),
      receivedAt: meta.receivedAt.toISOString(),
      location: loc
        ? {
            lat: loc.latitude,
            lon: loc.longitude,
            accuracyM: loc.uncertainty ?? null,
            fixAt: typeof position === 'string' ? blacklineTime(position) : null,
          }
        : null,
      batteryPercent: null,
      message: null,
      voiceNoteUrl: null,
    };
    // Blackline's push carries alerts: one of a type not in its published list is raised.
    return type ? checkEvent(candidate) : unknownTypeAlarm(candidate, b.type);
  }
}

/** The reply Blackline's push service expects: the MD5 hex of the raw request body. */
export function blacklineReply(raw: Buffer): string {
  return blacklineReplier().update(raw).reply();
}

/** `blacklineReply` over a body taken chunk by chunk as it comes (never held whole). */
export function blacklineReplier(): { update(chunk: Buffer): { reply(): string }; reply(): string } {
  const md5 = createHash('md5');
  const self = {
    update(chunk: Buffer) {
      md5.update(chunk);
      return self;
    },
    reply: () => md5.digest('hex'),
  };
  return self;
}
