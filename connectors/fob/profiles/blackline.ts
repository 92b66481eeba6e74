import { createHash } from 'node:crypto';
import { checkEvent, type Decoded, type FobEventType } from '../../../src/domain/fob/event.ts';
import { type FobProfile, parseObject, type TransportMeta, typeFrom, unknownTypeAlarm } from '../types.ts';

/**
 * Blackline Safety's push alert: `{id, status, type, date_created, escalation_protocol, contacts[…]}`
 * with a location `{latitude, longitude, uncertainty, position_date_utc}`; the push service expects a
 * 2xx whose body is the MD5 hex of the request body. Assumed where Blackline's public format is
 * silent: the device is `device.id` (else `contacts[0].device_id`), the location is `location`.
 */
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
    const b = parsed.value;
    const type = typeFrom(BLACKLINE_TYPES, b.type);
    const contacts = Array.isArray(b.contacts) ? (b.contacts as Json[]) : [];
    const loc = b.location as Json | null | undefined;
    const position = loc?.position_date_utc;
    const candidate = {
      deviceId: (b.device as Json | undefined)?.id ?? contacts[0]?.device_id,
      // As sent: a number is read as its digits, anything else not text is unreadable (checkEvent).
      vendorEventId: b.id,
      type,
      occurredAt: b.date_created,
      receivedAt: meta.receivedAt.toISOString(),
      location: loc
        ? {
            lat: loc.latitude,
            lon: loc.longitude,
            accuracyM: loc.uncertainty ?? null,
            fixAt: typeof position === 'string' ? position : null,
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
  return createHash('md5').update(raw).digest('hex');
}
