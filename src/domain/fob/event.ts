import { createHash } from 'node:crypto';
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

/** Alarms a wearer raises by hand: the person asking for help, each its own ladder. */
const RAISED_BY_WEARER: ReadonlySet<FobEventType> = new Set(['sos', 'duress', 'silent']);

/**
 * Whether a device's further alarm in one message may be noted on the alarm its earlier one raised
 * rather than raised itself: the same kind again (a batch of 400 SOS pages once), or a device's own
 * report (a fall, a tip-over) after the wearer's press. Never a press after a device's report: an SOS
 * or duress sent in a backlog behind a network timeout or a fall is its own alarm, its own ladder.
 * (By type only: the caller also keeps a readable or trusted item off an alarm raised for want of a
 * type or untrusted — src/alarms/accept.ts, `MessageAlarm`.)
 */
export function foldsInto(earlier: FobEventType, later: FobEventType): boolean {
  if (earlier === later) return true;
  return RAISED_BY_WEARER.has(earlier) && !RAISED_BY_WEARER.has(later);
}

/** Events the visit register keeps (start/end of a visit, check-ins). */
export const VISIT_TYPES: ReadonlySet<FobEventType> = new Set([
  'timer_started',
  'timer_cancelled',
  'check_in',
  'check_out',
]);

// Year 0000 is valid ISO 8601 but no date PostgreSQL can store.
const isoInstant = z.iso
  .datetime({ offset: true, error: 'expected an ISO 8601 date-time with a zone' })
  .refine((s) => !s.startsWith('0000'), 'expected a year after 0000');

/** The longest device id Doorstep keeps (a payload's, and a topic's device level). */
export const DEVICE_ID_MAX = 128;

export const fobEvent = z.strictObject({
  deviceId: z.string().min(1).max(DEVICE_ID_MAX),
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
  voiceNoteUrl: z.url().max(2048).nullable(),
});
export type FobEvent = z.output<typeof fobEvent>;

export interface DecodeError {
  /** The field that failed, as a JSON pointer or name. */
  field: string;
  reason: string;
  /**
   * For an unreadable `occurredAt`: the payload carries no device time of its own (`carriesNoTime`) —
   * none, or one a clock not set gives every press (0, the epoch, a zero date) — so nothing in its
   * bytes tells a new press under a restarted counter from a redelivery. Unset for a time present but
   * unreadable as sent (no zone, epoch ms) yet within a month of its receipt: the device's own,
   * differing from press to press.
   */
  noDeviceTime?: true;
}

/**
 * A device time further behind its receipt than this is a clock that reset (to 2000, to the
 * epoch), not an alarm held back by a fob out of signal: its time tells no press from another — a
 * fob whose clock and counter reset sends the same id and time for its next press — so what it was
 * received in does (`contentHash`'s `tellApartBy`). An alarm merely late (hours, days) keeps its
 * own time as what a redelivery repeats: resent an hour on (an ingest outage, a vendor's retry, a
 * replay), it is the same alarm.
 */
export const CLOCK_RESET_MS = 30 * 24 * 60 * 60_000;

/**
 * Whether a payload's unreadable time field carries no device time of its own: absent, null, a value
 * with no time in it (`"now"`, `""`, `true`), or one that read leniently — epoch seconds or ms, a date
 * and time with no zone (as UTC: a day either way is nothing against a month) — is not within
 * `CLOCK_RESET_MS` of its receipt (0, `"0000-00-00 00:00:00"`, `"1970-01-01T00:00:00"`: a clock not
 * set, the same for every press). Such a time tells no press from another; a time present but
 * unreadable as sent and near its receipt holds the device's own time in the bytes.
 */
export function carriesNoTime(v: unknown, receivedAt: string): boolean {
  const at = lenientTime(v);
  return at === null || Math.abs(at - Date.parse(receivedAt)) > CLOCK_RESET_MS;
}

function lenientTime(v: unknown): number | null {
  const n =
    typeof v === 'number'
      ? v
      : typeof v === 'string' && /^\d{1,16}$/.test(v.trim())
        ? Number(v.trim())
        : null;
  // Epoch ms from 1973 on, else seconds.
  if (n !== null) return Number.isFinite(n) ? (n > 1e11 ? n : n * 1000) : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?/.exec(v.trim());
  if (!m || m[2] === '00' || m[3] === '00') return null;
  return Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6] ?? 0),
  );
}

/**
 * `unreadable`: an alarm's fields that could not be read and were left out (or, for its time and
 * event id, replaced): the alarm is still raised, flagged with them. `said`: for such an alarm, what
 * the device sent (as made storable, without the time received) — the content a redelivery repeats,
 * which the event as kept no longer is.
 */
export type Decoded =
  | { ok: true; event: FobEvent; unreadable?: DecodeError[]; said?: string }
  | { ok: false; error: DecodeError };

/** The fields an alarm can be raised without: each left out (null) when it cannot be read. */
const OPTIONAL_FIELDS = ['batteryPercent', 'voiceNoteUrl'] as const;
const MESSAGE_MAX = 2000;
/** Deeper than any field of an event: what lies below is not read at all (nor recursed into). */
const MAX_DEPTH = 3;
const TOO_DEEP = '(nested too deep)';
/** The device of an alarm whose payload names none that can be read, nor its transport. */
export const UNREADABLE_DEVICE = '(unreadable device)';

/**
 * Validates a profile's output; the first failing field is named. Every string the device sent is
 * first made storable (`storable`) and a numeric id read as text. An event whose type is an alarm
 * is never refused for its other fields (when in doubt on the alarm path, raise it): a device that
 * cannot be read is `UNREADABLE_DEVICE` (the assessment puts the transport's in its place when it
 * vouches for one); a field that cannot be read is left out (of a location, only the part that cannot), a
 * message over its limit cut, an unreadable time replaced by the time Doorstep received it, an
 * unreadable event id by one made from what the device sent (so an exact redelivery is still one
 * event; with no readable time either, nothing tells a redelivery from a new alarm, so the time
 * received is part of it and each delivery raises) — each named in `unreadable`. Any other event
 * is refused whole: a check-in or timer event that cannot be read must not count.
 */
export function checkEvent(candidate: unknown): Decoded {
  const c = storable(candidate, undefined, 0);
  const r = fobEvent.safeParse(c);
  if (r.success) return { ok: true, event: r.data };
  const first = r.error.issues[0]!;
  const refused: Decoded = {
    ok: false,
    error: { field: first.path.join('.') || '(event)', reason: first.message },
  };
  if (!isRecord(c) || !ALARM_TYPES.has(c.type as FobEventType)) return refused;
  if (!fobEvent.shape.receivedAt.safeParse(c.receivedAt).success) return refused;
  const { receivedAt: _received, ...sent } = c;
  const said = JSON.stringify(sent);
  const unreadable: DecodeError[] = [];
  const patched: Record<string, unknown> = { ...c };
  const field = (name: keyof typeof fobEvent.shape) => {
    const f = fobEvent.shape[name].safeParse(patched[name]);
    return f.success ? null : (f.error.issues[0]?.message ?? 'not readable');
  };
  const badDevice = field('deviceId');
  if (badDevice !== null) {
    // Raised for a device named as unreadable: where the transport vouches for one (an MQTT topic's
    // device level) the assessment takes that one, as for any payload naming another; else the
    // board shows an unknown device (someone pressed; the office finds out who).
    patched.deviceId = UNREADABLE_DEVICE;
    unreadable.push({ field: 'deviceId', reason: `${badDevice}; raised for an unknown device` });
  }
  for (const name of OPTIONAL_FIELDS) {
    const reason = field(name);
    if (reason !== null) {
      unreadable.push({ field: name, reason });
      patched[name] = null;
    }
  }
  if (field('location') !== null) patched.location = readableLocation(patched.location, unreadable);
  if (field('message') !== null) {
    const m = patched.message;
    // Cut between code points: half a surrogate pair is no text PostgreSQL can store.
    patched.message = typeof m === 'string' ? m.slice(0, MESSAGE_MAX).toWellFormed() : null;
    unreadable.push({
      field: 'message',
      reason: typeof m === 'string' ? `cut to ${MESSAGE_MAX} characters` : 'expected text',
    });
  }
  const occurred = field('occurredAt');
  if (occurred !== null) {
    unreadable.push({
      field: 'occurredAt',
      reason: `${occurred}; raised at the time received`,
      ...(carriesNoTime(c.occurredAt, String(c.receivedAt)) ? { noDeviceTime: true as const } : {}),
    });
    patched.occurredAt = patched.receivedAt;
  }
  if (field('vendorEventId') !== null) {
    const id = contentEventId(said, occurred === null ? undefined : receivedWindow(String(c.receivedAt)));
    unreadable.push({
      field: 'vendorEventId',
      reason:
        occurred === null
          ? `not a usable event id; made from the content: ${id}`
          : `not a usable event id, and no time to tell a redelivery by; made from the content and the time received: ${id}`,
    });
    patched.vendorEventId = id;
  }
  const again = fobEvent.safeParse(patched);
  if (!again.success) return refused;
  return unreadable.length
    ? { ok: true, event: again.data, unreadable, said }
    : { ok: true, event: again.data };
}

/**
 * The event id of an alarm whose own id cannot be used: a digest of what was sent (`content`: the
 * message's bytes where the caller has them — what a profile read of it leaves out the very fields
 * that tell two devices apart when it could not read them), and, with no time to tell a redelivery
 * from a new press, of `tellApartBy` (the webhook's delivery id, or the window it was received in).
 */
export function contentEventId(content: string | Uint8Array, tellApartBy?: string): string {
  const h = createHash('sha256').update(content);
  if (tellApartBy !== undefined) h.update(`\n${tellApartBy}`);
  return `unreadable-${h.digest('base64url').slice(0, 32)}`;
}

/**
 * How long the same content with nothing else to tell deliveries apart (no event id, no time) counts
 * as one alarm: every ingest instance receives every message (a few milliseconds apart), and one
 * press must raise one alarm, not one per instance. Two presses this close with nothing to tell them
 * apart are one alarm, still open and on the board.
 */
export const SAME_CONTENT_WINDOW_MS = 120_000;

/** The window of `SAME_CONTENT_WINDOW_MS` an instant (ISO text) falls in, as text. */
export function receivedWindow(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `w${Math.floor(t / SAME_CONTENT_WINDOW_MS)}`;
}

/** The window a retained MQTT message sent again is keyed by when its first arrival is not known. */
export const RETAINED_AGAIN_WINDOW = 'retained';

/**
 * The window a message is told apart by when nothing else tells a redelivery from a new message: the
 * one it was received in (`receivedWindow`) — or, for a retained copy an MQTT broker sent again on a
 * resumed session (`retainedAgain`), the one its bytes were first received in, else (not known: a
 * restart since) `RETAINED_AGAIN_WINDOW`, the same for every such copy. A copy is never a new alarm
 * for arriving after a network blip; a retained message on a new session is received as any other.
 */
export function arrivalWindow(receivedAt: Date, retainedAgain?: { firstSeenAt: Date | null }): string {
  if (retainedAgain === undefined) return receivedWindow(receivedAt.toISOString());
  return retainedAgain.firstSeenAt === null
    ? RETAINED_AGAIN_WINDOW
    : receivedWindow(retainedAgain.firstSeenAt.toISOString());
}

/** A location with whatever of it can be read: a position without its accuracy or fix time is kept. */
function readableLocation(v: unknown, unreadable: DecodeError[]): unknown {
  const shape = fobEvent.shape.location.unwrap().shape;
  const l = isRecord(v) ? v : {};
  const position = shape.lat.safeParse(l.lat).success && shape.lon.safeParse(l.lon).success;
  if (!position) {
    unreadable.push({ field: 'location', reason: 'expected a latitude and longitude in range' });
    return null;
  }
  const part = (name: 'accuracyM' | 'fixAt') => {
    const ok = shape[name].safeParse(l[name] ?? null);
    if (ok.success) return l[name] ?? null;
    unreadable.push({ field: `location.${name}`, reason: ok.error.issues[0]?.message ?? 'not readable' });
    return null;
  };
  return { lat: l.lat, lon: l.lon, accuracyM: part('accuracyM'), fixAt: part('fixAt') };
}

/**
 * Text from a device as PostgreSQL can keep it: NUL removed (no text or JSON value can hold it) and
 * lone UTF-16 surrogates (possible in JSON's `\ud800` escapes) replaced by U+FFFD — otherwise the
 * event's write fails on every try and the message is redelivered forever. Ids given as numbers are
 * read as text. Applied to every string down to `MAX_DEPTH`; anything deeper (no field of an event
 * is) is replaced unread (by a mark and a digest of it), so it is refused or left out like any other
 * unreadable value. (Bodies nested deeper than `MAX_JSON_DEPTH` never get this far.)
 */
function storable(v: unknown, key: string | undefined, depth: number): unknown {
  if (typeof v === 'string') return v.replaceAll('\u0000', '').toWellFormed();
  if ((key === 'deviceId' || key === 'vendorEventId') && typeof v === 'number' && Number.isSafeInteger(v))
    return String(v);
  if (typeof v !== 'object' || v === null) return v;
  if (depth >= MAX_DEPTH) return tooDeep(v);
  if (Array.isArray(v)) return v.map((x) => storable(x, undefined, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, storable(x, k, depth + 1)]));
}

/** A value left unread, marked with a digest so two payloads differing only down there differ. */
function tooDeep(v: unknown): string {
  try {
    return `${TOO_DEEP} ${createHash('sha256').update(JSON.stringify(v)).digest('base64url').slice(0, 16)}`;
  } catch {
    return TOO_DEEP; // deeper than a stack (a caller that did not bound it while parsing)
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
