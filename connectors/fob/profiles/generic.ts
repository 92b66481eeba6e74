import {
  checkEvent,
  type Decoded,
  FOB_EVENT_TYPES,
  type FobEventType,
} from '../../../src/domain/fob/event.ts';
import {
  type FobProfile,
  parseJson,
  shown,
  type TransportMeta,
  typeFrom,
  unknownTypeAlarm,
} from '../types.ts';

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
  /**
   * A type the map does not name (a vendor's new alert kind): `raise` it as an SOS, untrusted, the
   * type named (the default: when in doubt on the alarm path, raise), all but `notAlarms`; or
   * `refuse` it (kept in `rejected_events`, on the data page; nobody is paged — an explicit opt-out,
   * which `doorstep check` warns of). An event whose type is missing or is no text or number is
   * raised either way (the gateway must send a type, or `fields.type` point at one its messages
   * carry); such alarms are one open at a time per device and cause, further ones noted on it while
   * it is unacknowledged (`acceptFobPayload`), so a gateway's type-less heartbeats page once, not
   * per message.
   */
  unmappedTypes?: 'refuse' | 'raise';
  /** Vendor types that are no alarm (a position report, a heartbeat, a battery level): refused quietly. */
  notAlarms?: string[];
}

/** Doorstep's own event types by name: a gateway that sends them needs no map. */
const OWN_TYPES: Readonly<Record<string, FobEventType>> = Object.fromEntries(
  FOB_EVENT_TYPES.map((t) => [t, t]),
);

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
    // Else Doorstep's own type names, in any case ("SOS" is `sos`, as a map's keys are matched).
    const type = typeFrom(this.mapping.types, vendorType) ?? typeFrom(OWN_TYPES, vendorType);
    // An unmapped type: raised as an SOS naming it (a vendor's new alert kind must page someone),
    // bar the types the school names as no alarm (its gateway's heartbeats, positions, battery
    // levels). Refused only where the school opts out (`unmappedTypes: refuse`) — and then only a type
    // that was named: an event with no type, or one that is no text or number, is raised all the same.
    const named = typeof vendorType === 'string' || typeof vendorType === 'number';
    if (!type && named && this.mapping.unmappedTypes === 'refuse')
      return { ok: false, error: { field: f.type, reason: `unknown event type ${shown(vendorType)}` } };
    if (!type && typeFrom(notAlarmTable(this.mapping.notAlarms), vendorType))
      return {
        ok: false,
        error: { field: f.type, reason: `event type ${shown(vendorType)} is not an alarm (notAlarms)` },
      };
    const lat = get(f.lat);
    const lon = get(f.lon);
    const id = get(f.vendorEventId);
    const candidate = {
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
    };
    return type ? checkEvent(candidate) : unknownTypeAlarm(candidate, vendorType);
  }
}

/** The school's `notAlarms` as a lookup table for `typeFrom` (case and spaces folded alike). */
function notAlarmTable(list: readonly string[] | undefined): Record<string, true> {
  return Object.fromEntries((list ?? []).map((t) => [t, true as const]));
}
