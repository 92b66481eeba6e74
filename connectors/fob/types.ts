import type { Decoded } from '../../src/domain/fob/event.ts';

export interface TransportMeta {
  receivedAt: Date;
  /** MQTT topic, when the event came over MQTT. */
  topic?: string;
}

/** A vendor's payload format mapped onto Doorstep's canonical FobEvent. */
export interface FobProfile {
  readonly name: string;
  decode(raw: Buffer, meta: TransportMeta): Decoded;
}

export function parseJson(raw: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')) };
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
}
