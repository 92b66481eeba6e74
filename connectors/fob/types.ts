import type { Decoded, DecodeError } from '../../src/domain/fob/event.ts';

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
 * Deeper than any vendor's event (the deepest maps a position two or three levels down). A body
 * nested deeper is refused before it is parsed: `JSON.parse` copes with any depth, but reading the
 * result (`String`, `JSON.stringify`) recurses, and a stack exhausted there would fail the message on
 * every delivery.
 */
export const MAX_JSON_DEPTH = 32;

export function parseJson(raw: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
  const text = raw.toString('utf8');
  if (jsonDepth(text) > MAX_JSON_DEPTH)
    return { ok: false, reason: `the body is nested deeper than ${MAX_JSON_DEPTH} levels` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
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
