import type { Redis } from 'ioredis';
import type { SchoolConfig } from '../config/schema.ts';
import { policyFor } from '../domain/escalation/ladder.ts';
import { ALARM_TYPES, type FobEvent } from '../domain/fob/event.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import { alarmForEvent, writeFobEvent } from '../store/alarms.ts';
import { publishBoardEvents } from '../store/board.ts';
import type { Db } from '../store/db.ts';

export interface IngestDeps {
  db: Db;
  producer: Producer<DoorstepCatalog>;
  /** Redis connection for the board's live channel. */
  publisher?: Redis;
  prefix: string;
}

export interface IngestSource {
  transport: 'mqtt' | 'webhook';
  profile: string;
  raw: Buffer;
  /** Standard Webhooks id, deduplicated per school. */
  webhookId?: string;
}

export type IngestOutcome =
  | { outcome: 'accepted'; eventId: string; alarmId: string | null }
  | { outcome: 'duplicate'; alarmId: string | null };

/** The device registry: device id → staff member; an unknown device still raises its alarm. */
export function staffFor(school: SchoolConfig, deviceId: string): string | null {
  return school.fobs.devices.find((d) => d.deviceId === deviceId)?.staffId ?? null;
}

/**
 * Accepts one decoded fob event. Durable first, in one statement: the event row (once per device
 * event), and for an alarm type the alarm, its audit entry and its board event. Then the board is
 * told and the escalation job enqueued (job id from the alarm: enqueueing again adds nothing).
 * Only when this resolves may the transport acknowledge (MQTT PUBACK, HTTP 2xx). A duplicate —
 * the same webhook id, or the same device event — writes nothing new but still makes sure the
 * alarm's escalation job exists, so a crash between commit and enqueue loses nothing.
 */
export async function ingestFobEvent(
  deps: IngestDeps,
  school: SchoolConfig,
  event: FobEvent,
  source: IngestSource,
): Promise<IngestOutcome> {
  const staffId = staffFor(school, event.deviceId);
  const w = await writeFobEvent(deps.db, {
    schoolId: school.id,
    event,
    staffId,
    transport: source.transport,
    profile: source.profile,
    raw: source.raw.toString('utf8'),
    webhookId: source.webhookId ?? null,
    isAlarm: ALARM_TYPES.has(event.type),
    boardPayload: boardPayload(null, event, staffId),
    policy: policyFor(school.escalation, event.type),
  });
  const written = w.eventId ? { eventId: w.eventId, alarmId: w.alarmId, boardId: w.boardId } : null;

  if (!written) {
    const alarmId = await alarmForEvent(deps.db, school.id, event.deviceId, event.vendorEventId);
    if (alarmId) await enqueueEscalation(deps, alarmId);
    return { outcome: 'duplicate', alarmId };
  }
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
  return { outcome: 'accepted', eventId: written.eventId, alarmId: written.alarmId };
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
