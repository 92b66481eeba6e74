import { checkEvent, type Decoded, type DecodeError } from '../../src/domain/fob/event.ts';

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

/**
 * A vendor's type field looked up in its table: only a string or a number names an entry (never an
 * object, whose own `toString` — `{"toString": 0}` — would throw), and only the table's own keys
 * (never `constructor` or `__proto__`). Case and surrounding spaces do not matter: a gateway that
 * sends `sos` or `Sos ` for `SOS` raises the alarm rather than having it refused as unknown.
 */
export function typeFrom<T>(table: Readonly<Record<string, T>>, value: unknown): T | undefined {
  const key = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
  if (key === undefined) return undefined;
  if (Object.hasOwn(table, key)) return table[key];
  const folded = key.trim().toUpperCase();
  for (const k of Object.keys(table)) if (k.toUpperCase() === folded) return table[k];
  return undefined;
}

/**
 * An event whose type the profile does not know — a vendor's new alert kind, a gateway's own name for
 * one, a type that cannot be read: when in doubt on the alarm path, raise it. It is raised as an SOS,
 * untrusted, the type it came with named on the board ("Not verified: …, treat as real"); its other
 * fields are read as any alarm's (`checkEvent`). What the device said, its type included, is what a
 * redelivery must repeat to be one (another unknown type under the same id is an id conflict, raised).
 * Only types a profile knows not to be alarms are refused (the generic profile's `notAlarms`).
 */
export function unknownTypeAlarm(candidate: Record<string, unknown>, vendorType: unknown): Decoded {
  const decoded = checkEvent({ ...candidate, type: 'sos' });
  if (!decoded.ok) return decoded;
  const { receivedAt: _received, ...sent } = candidate;
  return {
    ok: true,
    event: decoded.event,
    unreadable: [
      {
        field: 'type',
        reason: `${vendorType === undefined ? 'no type given' : `unknown type ${shown(vendorType)}`}; raised as an SOS`,
      },
      ...(decoded.unreadable ?? []),
    ],
    // (Its own `said`, where a field could not be read, would hold the type as `sos`.)
    said: JSON.stringify({ ...sent, type: shown(vendorType) }),
  };
}

/** A payload's value for an error message: as JSON, at most 80 characters. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(typeof value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/**
 * Deeper than any vendor's event (the deepest maps a position two or three levels down). A body
 * nested deeper is refused before it is parsed: `JSON.parse` copes with any depth, but reading the
 * result (`String`, `JSON.stringify`) recurses, and a stack exhausted there would fail the message on
 * every delivery.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * The body's JSON. Read as gateways send it: a UTF-8 byte-order mark before it is skipped, and a body
 * that is one JSON string holding a JSON object or array (JSON encoded twice, as flow tools such as
 * Node-RED do when a message is already text) is read as that object.
 */
export function parseJson(raw: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (jsonDepth(text) > MAX_JSON_DEPTH)
    return { ok: false, reason: `the body is nested deeper than ${MAX_JSON_DEPTH} levels` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
  if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
    if (jsonDepth(value) > MAX_JSON_DEPTH)
      return { ok: false, reason: `the body is nested deeper than ${MAX_JSON_DEPTH} levels` };
    try {
      return { ok: true, value: JSON.parse(value) };
    } catch {
      return { ok: true, value };
    }
  }
  return { ok: true, value };
}

/** The deepest nesting of arrays and objects in JSON text (brackets inside strings not counted). */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: the next character is escaped
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return deepest;
}
