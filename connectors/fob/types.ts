import type { Decoded, DecodeError } from '../../src/domain/fob/event.ts';

export interface TransportMeta {
  receivedAt: Date;
  /** MQTT topic, when the event came over MQTT. */
  topic?: string;
  /** The device the transport vouches for (an MQTT topic's device level), when it can tell. */
  deviceId?: string | null;
}

/** A vendor's payload format mapped onto Doorstep's canonical FobEvent. */
export interface FobProfile {
  readonly name: string;
  decode(raw: Buffer, meta: TransportMeta): Decoded;
}

/** A JSON object body, or the DecodeError that names why not. */
export function parseObject(
  raw: Buffer,
): { ok: true; value: Record<string, unknown> } | { ok: false; error: DecodeError } {
  const parsed = parseJson(raw);
  if (!parsed.ok) return { ok: false, error: { field: '(body)', reason: parsed.reason } };
  if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
    return { ok: false, error: { field: '(body)', reason: 'expected a JSON object' } };
  }
  return { ok: true, value: parsed.value as Record<string, unknown> };
}

export function parseJson(raw: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')) };
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
}
