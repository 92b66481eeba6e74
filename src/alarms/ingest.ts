import type { SchoolConfig } from '../config/schema.ts';
import { ALARM_TYPES, type DecodeError, type FobEvent, receivedWindow } from '../domain/fob/event.ts';
import {
  type Assessment,
  assessFobEvent,
  clockReset,
  contentHash,
  type TransportFacts,
  trustedCopyHash,
} from '../domain/fob/trust.ts';
import { addTimeline } from '../store/alarm-state.ts';
import {
  ALARM_PATH_TIMEOUT_MS,
  insertRejected,
  verifyUntrustedTwin,
  type WriteResult,
} from '../store/alarms.ts';
import { publishBoardEvents } from '../store/board.ts';
import { groupFor } from './ingest-groups.ts';
import type { IngestDeps, IngestOutcome, IngestSource } from './ingest-types.ts';
import { ladderFor } from './ladder-for.ts';

/**
 * The device registry: device id → staff member; an unknown device still raises its alarm. Only what
 * the config says now: an event from a device a visit out at the school holds (the fob it left with)
 * is that visit's lead's whatever this says — the write statement looks (`writeFobEvents`).
 */
export function staffFor(school: SchoolConfig, deviceId: string): string | null {
  return school.fobs.devices.find((d) => d.deviceId === deviceId)?.staffId ?? null;
}

/** What Doorstep believes of one fob event (`assessFobEvent`) under this school's settings. Pure. */
export function assessIn(
  school: SchoolConfig,
  decoded: FobEvent,
  facts: TransportFacts,
  unreadable?: readonly DecodeError[],
): Assessment {
  const device = school.fobs.devices.find((d) => d.deviceId === (facts.deviceId ?? decoded.deviceId));
  return assessFobEvent(
    decoded,
    facts,
    {
      deviceHasKey: device?.signingKey !== undefined,
      requireSigned: school.fobs.requireSignedEvents,
      maxClockSkewMs: school.fobs.maxClockSkewSeconds * 1000,
    },
    unreadable,
  );
}

/**
 * Accepts one decoded fob event. First it is assessed (`src/domain/fob/trust.ts`): the transport's
 * device, the device signature, the device clock — an untrusted alarm is still raised (flagged), an
 * untrusted anything-else is refused and kept in rejected_events. Then durable, in one statement:
 * the event row (once per device, event id and content), and for an alarm type the alarm, its
 * timeline, audit entry and board event. Then the board is told and the escalation job enqueued
 * (job id from the alarm: enqueueing again adds nothing). Only when this resolves may the transport
 * acknowledge (MQTT PUBACK, HTTP 2xx). An exact redelivery writes nothing new but still makes sure
 * the alarm's escalation job exists, so a crash between commit and enqueue loses nothing.
 */
export async function ingestFobEvent(
  deps: IngestDeps,
  school: SchoolConfig,
  decoded: FobEvent,
  source: IngestSource,
): Promise<IngestOutcome> {
  const a = assessIn(
    school,
    decoded,
    source.facts ?? { deviceId: null, signature: 'absent' },
    source.unreadable,
  );
  if (a.trustIssue || a.clockSkewMs !== null) deps.counters?.untrusted(school.id, source.transport);
  if (a.verdict === 'reject') {
    await insertRejected(deps.db, {
      schoolId: school.id,
      transport: source.transport,
      profile: source.profile,
      source: source.source ?? null,
      reason: `not trusted: ${a.trustIssue}`,
      raw: source.raw,
    });
    deps.counters?.rejected(school.id, source.transport);
    return { outcome: 'refused', reason: a.trustIssue! };
  }
  const event = a.event;
  const isAlarm = ALARM_TYPES.has(event.type);
  // An alarm's identity (event row: device, id, content) also holds what tells its redelivery from a
  // new press where its own time cannot — a reset clock's (the window it came in), a payload's with
  // no time at all (the transport's `redelivery`) (`contentHash`). Not whether it was trusted: one
  // press carried signed by one transport and unsigned by another is one alarm (below).
  const hash = isAlarm
    ? contentHash(decoded, {
        said: source.said,
        tellApartBy: clockReset(a)
          ? (source.window ?? receivedWindow(decoded.receivedAt))
          : source.redelivery,
      })
    : contentHash(decoded, { said: source.said });
  const staffId = staffFor(school, event.deviceId);
  // An alarm routed here from the school whose feed brought it: kept there if a visit out there
  // holds the device (decided in the write statement, at no round trip more), under its ladder.
  const arrived = source.arrivedAt;
  const heldAt =
    isAlarm && arrived && arrived.id !== school.id
      ? {
          schoolId: arrived.id,
          policy: ladderFor(arrived, event.type, new Date(event.receivedAt), 'fob'),
          registeredAt: school.name,
        }
      : undefined;
  const write = (contentHash: string) =>
    groupFor(deps.db, isAlarm).add(deps, {
      schoolId: school.id,
      event,
      staffId,
      transport: source.transport,
      profile: source.profile,
      raw: source.raw.toString('utf8').replaceAll('\u0000', ''),
      contentHash,
      claimedDeviceId: a.claimedDeviceId,
      trustIssue: a.trustIssue,
      clockSkewMs: a.clockSkewMs,
      isAlarm,
      boardPayload: boardPayload(null, event, staffId),
      // The ladder that holds when Doorstep received it (a device clock is not trusted for this): a
      // device alarm's, whatever its kind (a fob's own missed check-in is not the register's).
      policy: isAlarm ? ladderFor(school, event.type, new Date(event.receivedAt), 'fob') : null,
      heldAt,
    });
  // A trusted alarm that is a duplicate (only then: a new alarm costs nothing more) may have met an
  // untrusted copy of itself stored first (`trustedCopy`).
  const run = async () => {
    const w = await write(hash);
    return !w.eventId && isAlarm && a.trustIssue === null
      ? trustedCopy(deps, heldAt ? [school.id, heldAt.schoolId] : [school.id], event, hash, source, w, write)
      : w;
  };
  // Events are written concurrently, but one device's events with the same id go in arrival order
  // (which one is "seen before", and so flagged as the conflict, is the one that came second).
  const key = `${school.id}\u0000${event.deviceId}\u0000${event.vendorEventId}`;
  const before = sameId.get(key);
  const mine = before ? before.then(run) : run();
  const settled = mine.then(
    () => {},
    () => {},
  );
  sameId.set(key, settled);
  void settled.then(() => {
    if (sameId.get(key) === settled) sameId.delete(key);
  });
  const w = await mine;
  if (!w.eventId) return { outcome: 'duplicate', alarmId: w.alarmId };
  if (w.idConflict) deps.counters?.idConflict(school.id, source.transport);
  return {
    outcome: 'accepted',
    eventId: w.eventId,
    alarmId: w.alarmId,
    idConflict: w.idConflict,
    trusted: a.trustIssue === null,
    ...(w.raised?.visitId ? { held: { schoolId: w.raised.schoolId, visitId: w.raised.visitId } } : {}),
  };
}

/**
 * A trusted alarm (no trust issue: signed by its device, say) that was a duplicate of the same
 * content stored before — which may have been stored untrusted (the vendor's webhook relay carrying
 * it unsigned, first). Trust is no part of an alarm's identity, so such a copy never pages twice;
 * instead, while that alarm stands (open or acknowledged) it is verified — said on its timeline and
 * board (`verifyUntrustedTwin`) — and once it has been resolved (as forged, perhaps), the device's
 * own press is raised anew, as an id conflict, the reason on its timeline: never swallowed by a copy
 * the office dismissed. Its redelivery is that new alarm's duplicate (`trustedCopyHash`). An
 * untrusted copy after a trusted one is a plain duplicate.
 */
async function trustedCopy(
  deps: IngestDeps,
  /** Where its twin may have been written: the school it was raised at, and where it arrived. */
  schoolIds: readonly string[],
  event: FobEvent,
  hash: string,
  source: IngestSource,
  w: WriteResult,
  write: (contentHash: string) => Promise<WriteResult>,
): Promise<WriteResult> {
  const signed = source.facts?.signature === 'valid';
  const how = signed ? 'signed by the device' : 'with nothing in doubt';
  const twin = await verifyUntrustedTwin(deps.db, {
    schoolIds,
    deviceId: event.deviceId,
    vendorEventId: event.vendorEventId,
    contentHash: hash,
    note: `the same alarm arrived ${how} (over ${source.transport}): verified`,
  });
  if (twin === null) return w;
  if (twin.resolved === null) {
    if (twin.board) await publishBoardEvents(deps.publisher, deps.prefix, [twin.board]);
    return w;
  }
  const again = await write(trustedCopyHash(hash));
  if (again.eventId && again.alarmId)
    await addTimeline(
      deps.db,
      again.alarmId,
      `raised again: the same alarm (event ${event.vendorEventId}) arrived ${how} (over ${source.transport}) after an unverified copy of it, alarm ${twin.alarmId}, was resolved${twin.resolved.reason ? ` (${twin.resolved.reason.replaceAll('_', ' ')})` : ''} — treat this one as real`,
      null,
      { timeoutMs: ALARM_PATH_TIMEOUT_MS },
    );
  return again;
}

/** Event ids (school, device, id) being written now: the next with the same id waits its turn. */
const sameId = new Map<string, Promise<void>>();

/** What the board is told of a new alarm: ids only; the board looks up names itself. */
function boardPayload(
  alarmId: string | null,
  event: FobEvent,
  staffId: string | null,
): Record<string, unknown> {
  return {
    ...(alarmId ? { alarmId } : {}),
    type: event.type,
    deviceId: event.deviceId,
    vendorEventId: event.vendorEventId,
    staffId,
    unknownDevice: staffId === null,
    raisedAt: event.occurredAt,
  };
}
