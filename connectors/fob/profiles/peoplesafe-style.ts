import { createHmac, timingSafeEqual } from 'node:crypto';
import { checkEvent, type Decoded, type FobEventType } from '../../../src/domain/fob/event.ts';
import { type FobProfile, parseObject, type TransportMeta, typeFrom, unknownTypeAlarm } from '../types.ts';

/**
 * `peoplesafe-style`: the JSON Doorstep asks a vendor gateway to send (no UK vendor publishes one).
 *
 * ```json
 * { "event_id": "ps-0001-000123", "device": { "id": "PS-0001" }, "type": "SOS",
 *   "occurred_at": "2025-11-18T10:02:00Z",
 *   "location": { "lat": 53.81, "lon": -1.57, "accuracy_m": 12, "fix_at": "2025-11-18T10:01:55Z" },
 *   "battery": 82, "message": null, "voice_note_url": null }
 * ```
 * Types: SOS, FALL, NON_MOVEMENT, DURESS, SILENT, AMBER_START, AMBER_CANCEL, AMBER_OVERRUN,
 * MISSED_CHECK_IN, CHECK_IN, CHECK_OUT, LOW_BATTERY, TIPPED, NETWORK_TIMEOUT, TEST.
 */
export const PEOPLESAFE_TYPES: Record<string, FobEventType> = {
  SOS: 'sos',
  FALL: 'fall',
  NON_MOVEMENT: 'non_movement',
  DURESS: 'duress',
  SILENT: 'silent',
  AMBER_START: 'timer_started',
  AMBER_CANCEL: 'timer_cancelled',
  AMBER_OVERRUN: 'timer_overrun',
  MISSED_CHECK_IN: 'missed_check_in',
  CHECK_IN: 'check_in',
  CHECK_OUT: 'check_out',
  LOW_BATTERY: 'low_battery',
  TIPPED: 'tipped_over',
  NETWORK_TIMEOUT: 'network_timeout',
  TEST: 'test',
};

type Json = Record<string, unknown>;

export class PeoplesafeStyleProfile implements FobProfile {
  readonly name = 'peoplesafe-style';

  decode(raw: Buffer, meta: TransportMeta): Decoded {
    const parsed = parseObject(raw);
    if (!parsed.ok) return parsed;
    const b = parsed.value;
    const type = typeFrom(PEOPLESAFE_TYPES, b.type);
    const loc = b.location as Json | null | undefined;
    const candidate = {
      deviceId: (b.device as Json | undefined)?.id,
      vendorEventId: b.event_id,
      type,
      occurredAt: b.occurred_at,
      receivedAt: meta.receivedAt.toISOString(),
      location: loc
        ? { lat: loc.lat, lon: loc.lon, accuracyM: loc.accuracy_m ?? null, fixAt: loc.fix_at ?? null }
        : null,
      batteryPercent: b.battery ?? null,
      message: b.message ?? null,
      voiceNoteUrl: b.voice_note_url ?? null,
    };
    return type ? checkEvent(candidate) : unknownTypeAlarm(candidate, b.type);
  }
}

/**
 * Optional per-device signing of `peoplesafe-style` payloads: `v1,<base64 HMAC-SHA256(device key,
 * the exact payload bytes)>`, carried beside the payload — the MQTT 5 user property
 * `doorstep-signature`, or the webhook header `doorstep-device-signature` — so the JSON itself is
 * unchanged. Several space-separated entries are allowed during a key rotation.
 */
export const DEVICE_SIGNATURE_PROPERTY = 'doorstep-signature';
export const DEVICE_SIGNATURE_HEADER = 'doorstep-device-signature';

export function signDevicePayload(key: string, raw: Buffer): string {
  return `v1,${createHmac('sha256', key).update(raw).digest('base64')}`;
}

export function verifyDevicePayload(key: string, raw: Buffer, signature: string): boolean {
  const expected = Buffer.from(signDevicePayload(key, raw));
  return signature.split(' ').some((s) => {
    const given = Buffer.from(s);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
