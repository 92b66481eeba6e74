import { type FobTransportConfig, profileFor } from '../../connectors/fob/index.ts';
import { verifyDevicePayload } from '../../connectors/fob/profiles/peoplesafe-style.ts';
import type { SchoolConfig } from '../config/schema.ts';
import { ALARM_TYPES, type Decoded } from '../domain/fob/event.ts';
import { type TransportFacts, vouchedFacts } from '../domain/fob/trust.ts';
import { insertRejected } from '../store/alarms.ts';
import { failsEveryTime } from '../store/sql-errors.ts';
import { ingestFobEvent } from './ingest.ts';
import type { IngestDeps, IngestOutcome } from './ingest-types.ts';

/** What a transport knows of one message besides its bytes. */
export interface Arrival {
  receivedAt: Date;
  /** MQTT topic or webhook id. */
  source: string | null;
  /** The device the transport vouches for (MQTT topic level), when it can tell. */
  deviceId: string | null;
  /** The transport should vouch for a device and cannot: an MQTT topic with an empty device level. */
  deviceMissing?: boolean;
  /** The device signature carried beside the payload, if any. */
  signature: string | null;
}

export type AcceptOutcome = IngestOutcome | { outcome: 'invalid'; field: string; reason: string };

/**
 * The one way a raw fob payload enters Doorstep, shared by the MQTT transport and the webhook
 * route: decode with the transport's profile (undecodable → rejected_events, bounded), check the
 * device signature against the device's key, then `ingestFobEvent` (assess → durable write → board
 * → escalation). The transport acknowledges only when this resolves. An event with a value the
 * database refuses (or a write beyond one of its limits) is never left to fail for ever: an alarm is
 * raised with what can be stored, any other event is kept in rejected_events (and acknowledged).
 */
export async function acceptFobPayload(
  deps: IngestDeps,
  school: SchoolConfig,
  transport: FobTransportConfig,
  raw: Buffer,
  arrival: Arrival,
): Promise<AcceptOutcome> {
  const t0 = deps.trace ? performance.now() : 0;
  const decoded = decodeOrRefuse(transport, raw, arrival);
  if (!decoded.ok) {
    await insertRejected(deps.db, {
      schoolId: school.id,
      transport: transport.kind,
      profile: transport.profile,
      source: arrival.source,
      reason: `${decoded.error.field}: ${decoded.error.reason}`,
      raw,
    });
    deps.counters?.rejected(school.id, transport.kind);
    return { outcome: 'invalid', field: decoded.error.field, reason: decoded.error.reason };
  }
  deps.trace?.(decoded.event.vendorEventId, 'decode', t0, performance.now());
  // A topic level that cannot name a device (over-long, unusable characters) vouches for none.
  const vouched = vouchedFacts({
    deviceId: arrival.deviceId,
    ...(arrival.deviceMissing ? { deviceMissing: true } : {}),
    signature: 'absent',
  });
  const deviceId = vouched.deviceId ?? decoded.event.deviceId;
  const key = school.fobs.devices.find((d) => d.deviceId === deviceId)?.signingKey;
  const facts: TransportFacts = {
    ...vouched,
    signature:
      arrival.signature === null
        ? 'absent'
        : key && verifyDevicePayload(key.reveal(), raw, arrival.signature)
          ? 'valid'
          : 'invalid',
  };
  const source = {
    transport: transport.kind,
    profile: transport.profile,
    raw,
    facts,
    source: arrival.source,
  };
  try {
    return await ingestFobEvent(deps, school, decoded.event, {
      ...source,
      ...(decoded.unreadable?.length ? { unreadable: decoded.unreadable } : {}),
      ...(decoded.said !== undefined ? { said: decoded.said } : {}),
    });
  } catch (err) {
    // Anything else (the database or Redis away) is thrown: not acknowledged, so redelivered.
    if (!failsForThisPayload(err)) throw err;
  }
  // The database refused a value of this event (SQLSTATE class 22), the write is beyond one of its
  // limits (class 54: an index row too large, say), or Doorstep's own code failed on a value of a
  // shape no one foresaw (a TypeError or RangeError): it would fail the same way on every redelivery
  // (an MQTT message would come back for ever and hold up the session's queue). An alarm is raised
  // with only its type, device and event id, at the time received; anything else is kept refused.
  const refused = { field: '(event)', reason: 'a value the database could not store' };
  if (ALARM_TYPES.has(decoded.event.type)) {
    try {
      return await ingestFobEvent(
        deps,
        school,
        {
          ...decoded.event,
          occurredAt: decoded.event.receivedAt,
          location: null,
          batteryPercent: null,
          message: null,
          voiceNoteUrl: null,
        },
        {
          ...source,
          unreadable: [
            ...(decoded.unreadable ?? []),
            { ...refused, reason: `${refused.reason}; raised with its type and device only` },
          ],
          // What a redelivery repeats is the payload itself (the event as kept is stripped).
          said: `raw\n${raw.toString('base64')}`,
        },
      );
    } catch (err) {
      if (!failsForThisPayload(err)) throw err;
    }
  }
  await insertRejected(deps.db, {
    schoolId: school.id,
    transport: transport.kind,
    profile: transport.profile,
    source: arrival.source,
    reason: `${refused.field}: ${refused.reason}`,
    raw,
  });
  deps.counters?.rejected(school.id, transport.kind);
  return { outcome: 'invalid', ...refused };
}

/**
 * The profile's reading of the payload. A profile that throws on it (a value of a shape its code did
 * not foresee) would throw on every redelivery — over MQTT holding every later message of the session
 * behind it, alarms included — so the payload is refused as undecodable instead, never thrown.
 */
function decodeOrRefuse(transport: FobTransportConfig, raw: Buffer, arrival: Arrival): Decoded {
  try {
    return profileFor(transport).decode(raw, {
      receivedAt: arrival.receivedAt,
      ...(arrival.source && transport.kind === 'mqtt' ? { topic: arrival.source } : {}),
    });
  } catch (err) {
    const what = err instanceof Error ? err.name : typeof err;
    return {
      ok: false,
      error: { field: '(body)', reason: `the ${transport.profile} profile could not read it (${what})` },
    };
  }
}

/**
 * An error this payload causes every time it is handled: the database refusing one of its values or
 * limits (`failsEveryTime`), or Doorstep's own code failing on a value of a shape no one foresaw (a
 * TypeError or RangeError). Redelivering it can never succeed.
 */
function failsForThisPayload(err: unknown): boolean {
  return failsEveryTime(err) || err instanceof TypeError || err instanceof RangeError;
}
