import type { Redis } from 'ioredis';
import type { SchoolConfig } from '../config/schema.ts';
import { policyFor } from '../domain/escalation/ladder.ts';
import { ALARM_TYPES, type FobEvent } from '../domain/fob/event.ts';
import { assessFobEvent, contentHash, type TransportFacts } from '../domain/fob/trust.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import { alarmForEvent, insertRejected, writeFobEvent } from '../store/alarms.ts';
import { publishBoardEvents } from '../store/board.ts';
import type { Db } from '../store/db.ts';

export interface IngestDeps {
  db: Db;
  producer: Producer<DoorstepCatalog>;
  /** Redis connection for the board's live channel. */
  publisher?: Redis;
  prefix: string;
  /** Counts what the alarm path refused or doubted (exposed on /metrics). */
  counters?: IngestCounters;
}

export interface IngestCounters {
  rejected(schoolId: string, transport: string): void;
  untrusted(schoolId: string, transport: string): void;
  idConflict(schoolId: string, transport: string): void;
}

export interface IngestSource {
  transport: 'mqtt' | 'webhook';
  profile: string;
  raw: Buffer;
  /** What the transport vouches for; absent: nothing (the payload's device, no signature). */
  facts?: TransportFacts;
  /** MQTT topic or webhook id, kept with a refused event. */
  source?: string | null;
}

export type IngestOutcome =
  | { outcome: 'accepted'; eventId: string; alarmId: string | null; idConflict: boolean; trusted: boolean }
  | { outcome: 'duplicate'; alarmId: string | null }
  | { outcome: 'refused'; reason: string };

/** The device registry: device id → staff member; an unknown device still raises its alarm. */
export function staffFor(school: SchoolConfig, deviceId: string): string | null {
  return school.fobs.devices.find((d) => d.deviceId === deviceId)?.staffId ?? null;
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
  const facts = source.facts ?? { deviceId: null, signature: 'absent' };
  const device = school.fobs.devices.find((d) => d.deviceId === (facts.deviceId ?? decoded.deviceId));
  const a = assessFobEvent(decoded, facts, {
    deviceHasKey: device?.signingKey !== undefined,
    requireSigned: school.fobs.requireSignedEvents,
    maxClockSkewMs: school.fobs.maxClockSkewSeconds * 1000,
  });
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
  const hash = contentHash(decoded);
  const staffId = staffFor(school, event.deviceId);
  const w = await writeFobEvent(deps.db, {
    schoolId: school.id,
    event,
    staffId,
    transport: source.transport,
    profile: source.profile,
    raw: source.raw.toString('utf8').replaceAll('\u0000', ''),
    contentHash: hash,
    claimedDeviceId: a.claimedDeviceId,
    trustIssue: a.trustIssue,
    clockSkewMs: a.clockSkewMs,
    isAlarm: ALARM_TYPES.has(event.type),
    boardPayload: boardPayload(null, event, staffId),
    policy: policyFor(school.escalation, event.type),
  });
  const written = w.eventId ? { eventId: w.eventId, alarmId: w.alarmId, boardId: w.boardId } : null;

  if (!written) {
    const alarmId = await alarmForEvent(deps.db, school.id, event.deviceId, event.vendorEventId, hash);
    if (alarmId) await enqueueEscalation(deps, alarmId);
    return { outcome: 'duplicate', alarmId };
  }
  if (w.idConflict) deps.counters?.idConflict(school.id, source.transport);
  if (written.alarmId) {
    // The board first (the row is committed, so the office may see it now), then the escalation job;
    // the transport acknowledges only after both.
    const told = publishBoardEvents(deps.publisher, deps.prefix, [
      {
        id: written.boardId!,
        schoolId: school.id,
        type: 'alarm.raised',
        payload: boardPayload(written.alarmId, event, staffId),
      },
    ]);
    await enqueueEscalation(deps, written.alarmId);
    await told;
  }
  return {
    outcome: 'accepted',
    eventId: written.eventId,
    alarmId: written.alarmId,
    idConflict: w.idConflict,
    trusted: a.trustIssue === null,
  };
}

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

async function enqueueEscalation(deps: IngestDeps, alarmId: string): Promise<void> {
  await deps.producer.enqueue('escalate', { alarmId, step: 0 }, { jobId: `escalate-${alarmId}-0` });
}
