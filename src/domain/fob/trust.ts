import { createHash } from 'node:crypto';
import { ALARM_TYPES, CLOCK_RESET_MS, type DecodeError, type FobEvent } from './event.ts';
import { unusableDeviceLevel } from './topics.ts';

/**
 * What Doorstep believes of one fob event, and why. Pure: the transport supplies what it knows of
 * the sender, the school its settings. The rule, for every transport and profile:
 *
 * - **Identity.** The device is the one the transport vouches for (the MQTT topic level the broker's
 *   ACL lets only that school's gateway publish on), not the one the payload names. A payload naming
 *   another device, a missing or wrong device signature where one is expected, make the event
 *   *untrusted*.
 * - **Untrusted alarms still raise their alarm** (flagged with the reason): when in doubt on the
 *   alarm path, raise it. **Untrusted anything else is refused**: a check-in, check-out or timer
 *   event never ends, postpones or clears anything unless it is trusted.
 * - **Clocks.** A device time further in the future than the school's skew is not believed: an alarm
 *   takes its received time, and such a check-in is not counted (a check-in from the future is the
 *   shape of a forgery or a broken device; the office will call the worker). An alarm whose device
 *   time is more than an hour behind (`ALARM_RAISED_LATE_MS`) takes its received time too.
 * - **De-duplication.** An event is a redelivery only when device, event id and content all match
 *   (`contentHash`); the same id with other content is a new event flagged as a conflict. For an
 *   alarm whose payload carries no time, its content includes what tells a redelivery from a new
 *   press. Trust is no part of it: one press carried signed by one transport and unsigned by another
 *   is one alarm. A trusted copy of an alarm stored untrusted verifies it while it stands, or, once
 *   it is resolved (as forged, say), raises anew (`trustedCopyHash`).
 */
export interface TransportFacts {
  /** The device the transport vouches for (MQTT topic level); null when it cannot tell. */
  deviceId: string | null;
  /**
   * The transport binds devices to topics and this message's topic names none (an empty device
   * level, which `+` still matches): the payload's device is unvouched for.
   */
  deviceMissing?: boolean;
  /**
   * The transport's device level could not name a device (over-long, control characters, …): why,
   * with the level itself only as a fingerprint (`vouchedFacts`). The payload's device is unvouched for.
   */
  deviceUnusable?: string;
  /** Whether the payload carried a device signature, and whether it verified against the device's key. */
  signature: 'valid' | 'invalid' | 'absent';
}

export interface TrustSettings {
  /** The device has a signing key configured. */
  deviceHasKey: boolean;
  /** The school requires every event to be signed by its device. */
  requireSigned: boolean;
  maxClockSkewMs: number;
}

export interface Assessment {
  /** The event as Doorstep keeps it: the transport's device, and a time it can believe. */
  event: FobEvent;
  /** The device the payload named, when it differs from the transport's. */
  claimedDeviceId: string | null;
  /** Why the event is not trusted; null when it is. */
  trustIssue: string | null;
  /**
   * occurred_at − received_at when the device clock is beyond the allowed skew (for an alarm, also
   * when it is more than `ALARM_RAISED_LATE_MS` behind); else null.
   */
  clockSkewMs: number | null;
  /** accept: store it (and raise its alarm); reject: keep it in rejected_events only. */
  verdict: 'accept' | 'reject';
}

/**
 * An alarm whose device time is further behind its receipt than this is raised at the received time
 * (the device time kept as its skew): a fob whose clock reset (to 2000, say) or an alarm held back so
 * long that its own time would mislead the office — calls and pushes say "raised at HH:MM".
 */
export const ALARM_RAISED_LATE_MS = 60 * 60_000;

// `CLOCK_RESET_MS` (a clock that reset, not an alarm held back) is the decoder's too: defined there.
export { CLOCK_RESET_MS };

/** Whether an assessed alarm's device time is one a reset clock gave (`CLOCK_RESET_MS`). */
export function clockReset(a: Pick<Assessment, 'clockSkewMs'>): boolean {
  // Or as far ahead: no fob is a month fast but a broken one.
  return a.clockSkewMs !== null && Math.abs(a.clockSkewMs) > CLOCK_RESET_MS;
}

/**
 * The transport's facts with a device level that cannot name a device (`unusableDeviceLevel`: empty,
 * over DEVICE_ID_MAX, unusable characters) set aside, as for a topic naming no device: the payload's
 * device is kept, unvouched for, and the level only as the start of its SHA-256 (bounded, whatever
 * its length) in `deviceUnusable`. Never thrown: an alarm on such a topic is still raised.
 */
export function vouchedFacts(facts: TransportFacts): TransportFacts {
  if (facts.deviceId === null) return facts;
  const why = unusableDeviceLevel(facts.deviceId);
  if (why === null) return facts;
  const fingerprint = createHash('sha256').update(facts.deviceId).digest('base64url').slice(0, 16);
  return { ...facts, deviceId: null, deviceUnusable: `${why}; kept only as its SHA-256 ${fingerprint}` };
}

/** How an alarm's trust issue begins when fields of its payload could not be read. */
export const UNREADABLE_ISSUE = 'the payload could not be read in full: ';
/** … and when its whole body could not be read (raised from the device its topic names). */
export const UNREADABLE_BODY_ISSUE = `${UNREADABLE_ISSUE}(body) (`;

/**
 * `unreadable`: the fields an alarm was raised without (`checkEvent`); they make it untrusted, so the
 * office sees the alarm flagged with what could not be read.
 */
export function assessFobEvent(
  event: FobEvent,
  given: TransportFacts,
  s: TrustSettings,
  unreadable: readonly DecodeError[] = [],
): Assessment {
  const facts = vouchedFacts(given);
  const issues: string[] = [];
  if (unreadable.length)
    issues.push(`${UNREADABLE_ISSUE}${unreadable.map((u) => `${u.field} (${u.reason})`).join(', ')}`);
  let claimedDeviceId: string | null = null;
  let deviceId = event.deviceId;
  if (facts.deviceId !== null && facts.deviceId !== event.deviceId) {
    claimedDeviceId = event.deviceId;
    deviceId = facts.deviceId;
    issues.push(`the payload names device ${event.deviceId}, the transport ${facts.deviceId}`);
  }
  if (facts.deviceMissing) issues.push('the topic names no device (its device level is empty)');
  if (facts.deviceUnusable) issues.push(`the topic names no usable device (${facts.deviceUnusable})`);
  if (facts.signature === 'invalid') issues.push('the device signature does not verify');
  else if (facts.signature === 'absent' && (s.deviceHasKey || s.requireSigned))
    issues.push(s.deviceHasKey ? 'the device signature is missing' : 'the school requires signed events');
  else if (facts.signature === 'valid' && !s.deviceHasKey) issues.push('no signing key for this device');

  const skew = Date.parse(event.occurredAt) - Date.parse(event.receivedAt);
  const isAlarm = ALARM_TYPES.has(event.type);
  const clockSkewMs = skew > s.maxClockSkewMs || (isAlarm && skew < -ALARM_RAISED_LATE_MS) ? skew : null;
  const trustIssue = issues.length ? issues.join('; ') : null;
  return {
    event: {
      ...event,
      deviceId,
      // An alarm is raised at a time the office can believe.
      occurredAt: clockSkewMs !== null && isAlarm ? event.receivedAt : event.occurredAt,
    },
    claimedDeviceId,
    trustIssue,
    clockSkewMs,
    verdict: trustIssue === null || isAlarm ? 'accept' : 'reject',
  };
}

/**
 * The content an exact redelivery repeats: everything the device said, as decoded (not when Doorstep
 * heard it), so a redelivery hashes the same whichever transport carried it and whenever. For an
 * alarm raised without what it could not read, the event as kept is not what was said: `said` (what
 * the device sent, `checkEvent`) is hashed instead — a redelivery repeats it exactly, and another
 * alarm under the same id (another unreadable time, say) differs from it.
 */
export function contentHash(
  decoded: FobEvent,
  also: {
    /** What the device sent, when the event as kept is not it (`checkEvent`). */
    said?: string | undefined;
    /**
     * What tells a redelivery of this alarm from a new press when its own time cannot: for an alarm
     * whose device time a reset clock gave (`clockReset`), the window it was received in
     * (`receivedWindow`); for one whose payload carries no time at all, what tells the transport's
     * redelivery from a new message (the webhook's delivery id, or the MQTT window it was received
     * in). Without it, a fob whose counter (and clock) reset sends the same id — and, with no time,
     * the same content — for its next press, which was answered "duplicate" and never raised. A
     * redelivery within the window is still one alarm; a later one raises another, flagged as a
     * conflict (when in doubt, raise).
     */
    tellApartBy?: string | undefined;
  } = {},
): string {
  const suffix = also.tellApartBy === undefined ? '' : `\n${also.tellApartBy}`;
  if (also.said !== undefined)
    return createHash('sha256').update(`said\n${also.said}${suffix}`).digest('base64url');
  const { receivedAt: _received, ...kept } = decoded;
  return createHash('sha256')
    .update(`${JSON.stringify(kept)}${suffix}`)
    .digest('base64url');
}

/**
 * The identity of a trusted copy of an alarm whose stored twin (the same content hash, `hash`) was
 * untrusted and has since been resolved — as forged, say: the device's own press is raised anew, an
 * id conflict beside that copy (when in doubt, raise). Its own redelivery hashes the same again, so
 * it is that new alarm's duplicate, never a third alarm.
 */
export function trustedCopyHash(hash: string): string {
  return createHash('sha256').update(`trusted copy of\n${hash}`).digest('base64url');
}
