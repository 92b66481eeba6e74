import type { Redis } from 'ioredis';
import type { SchoolConfig } from '../config/schema.ts';
import { ALARM_TYPES, type FobEvent } from '../domain/fob/event.ts';
import type { DoorstepCatalog } from '../queue/catalog.ts';
import type { Producer } from '../queue/producer.ts';
import {
  alarmForEvent,
  insertAlarm,
  insertBoardEvent,
  insertFobEvent,
  recordWebhookId,
} from '../store/alarms.ts';
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

export function boardChannel(prefix: string): string {
  return `${prefix}:board`;
}

/** The device registry: device id → staff member; an unknown device still raises its alarm. */
export function staffFor(school: SchoolConfig, deviceId: string): string | null {
  return school.fobs.devices.find((d) => d.deviceId === deviceId)?.staffId ?? null;
}

/**
 * Accepts one decoded fob event. Durable first, in one transaction: the event row (once per device
 * event), and for an alarm type the alarm, its audit entry and its board event. Then the escalation
 * job is enqueued (job id from the alarm: enqueueing again adds nothing) and the board is told.
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
  const written = await deps.db.transaction(async (tx) => {
    if (source.webhookId && !(await recordWebhookId(tx, school.id, source.webhookId))) return null;
    const eventId = await insertFobEvent(tx, {
      schoolId: school.id,
      event,
      staffId,
      transport: source.transport,
      profile: source.profile,
      raw: source.raw.toString('utf8'),
    });
    if (!eventId) return null;
    if (!ALARM_TYPES.has(event.type)) return { eventId, alarmId: null, boardId: null };
    const alarmId = await insertAlarm(tx, { schoolId: school.id, fobEventId: eventId, event, staffId });
    const boardId = await insertBoardEvent(
      tx,
      school.id,
      'alarm.raised',
      boardPayload(alarmId, event, staffId),
    );
    return { eventId, alarmId, boardId };
  });

  if (!written) {
    const alarmId = await alarmForEvent(deps.db, school.id, event.deviceId, event.vendorEventId);
    if (alarmId) await enqueueEscalation(deps, alarmId);
    return { outcome: 'duplicate', alarmId };
  }
  if (written.alarmId) {
    await enqueueEscalation(deps, written.alarmId);
    await deps.publisher
      ?.publish(
        boardChannel(deps.prefix),
        JSON.stringify({
          id: written.boardId,
          schoolId: school.id,
          type: 'alarm.raised',
          payload: boardPayload(written.alarmId, event, staffId),
        }),
      )
      .catch(() => {});
  }
  return { outcome: 'accepted', eventId: written.eventId, alarmId: written.alarmId };
}

/** What the board is told of a new alarm: ids only; the board looks up names itself. */
function boardPayload(alarmId: string, event: FobEvent, staffId: string | null): Record<string, unknown> {
  return {
    alarmId,
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
