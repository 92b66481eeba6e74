import {
  checkEvent,
  type Decoded,
  FOB_EVENT_TYPES,
  type FobEventType,
} from '../../../src/domain/fob/event.ts';
import { type FobProfile, parseJson, shown, type TransportMeta, typeFrom } from '../types.ts';

/** RFC 6901 JSON pointer lookup (`/device/serial`, `/pos/0`); undefined when absent. */
export function pointer(doc: unknown, path: string): unknown {
  if (path === '') return doc;
  let cur: unknown = doc;
  for (const raw of path.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export interface GenericMapping {
  fields: {
    deviceId: string;
    vendorEventId: string;
    type: string;
    occurredAt: string;
    lat?: string | undefined;
    lon?: string | undefined;
    accuracyM?: string | undefined;
    fixAt?: string | undefined;
    batteryPercent?: string | undefined;
    message?: string | undefined;
    voiceNoteUrl?: string | undefined;
  };
  /** Vendor type value → canonical type. */
  types: Record<string, FobEventType>;
}

/** `generic`: any JSON, mapped by JSON pointers and a type map from the school's config. */
export class GenericProfile implements FobProfile {
  readonly name = 'generic';
  private readonly mapping: GenericMapping;

  constructor(mapping: GenericMapping) {
    this.mapping = mapping;
  }

  decode(raw: Buffer, meta: TransportMeta): Decoded {
    const parsed = parseJson(raw);
    if (!parsed.ok) return { ok: false, error: { field: '(body)', reason: parsed.reason } };
    const doc = parsed.value;
    const f = this.mapping.fields;
    const get = (p: string | undefined) => (p === undefined ? undefined : pointer(doc, p));
    const vendorType = get(f.type);
    const type =
      typeFrom(this.mapping.types, vendorType) ??
      (FOB_EVENT_TYPES.includes(vendorType as FobEventType) ? vendorType : undefined);
    if (!type)
      return { ok: false, error: { field: f.type, reason: `unknown event type ${shown(vendorType)}` } };
    const lat = get(f.lat);
    const lon = get(f.lon);
    const id = get(f.vendorEventId);
    return checkEvent({
      // As sent: a number is read as its digits, anything else not text is unreadable (checkEvent).
      deviceId: get(f.deviceId),
      vendorEventId: id,
      type,
      occurredAt: get(f.occurredAt),
      receivedAt: meta.receivedAt.toISOString(),
      location:
        lat !== undefined && lon !== undefined
          ? { lat, lon, accuracyM: get(f.accuracyM) ?? null, fixAt: get(f.fixAt) ?? null }
          : null,
      batteryPercent: get(f.batteryPercent) ?? null,
      message: get(f.message) ?? null,
      voiceNoteUrl: get(f.voiceNoteUrl) ?? null,
    });
  }
}
