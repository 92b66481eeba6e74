import type { FobEvent } from '../domain/fob/event.ts';
import type { Queryable } from './db.ts';

export async function alarmForEvent(
  db: Queryable,
  schoolId: string,
  deviceId: string,
  vendorEventId: string,
): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT a.id FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
     WHERE e.school_id = $1 AND e.device_id = $2 AND e.vendor_event_id = $3`,
    [schoolId, deviceId, vendorEventId],
  );
  return rows[0] ? String(rows[0].id) : null;
}

export async function insertRejected(
  db: Queryable,
  r: {
    schoolId: string;
    transport: string;
    profile: string;
    source: string | null;
    reason: string;
    raw: string;
  },
): Promise<void> {
  await db.query(
    'INSERT INTO rejected_events (school_id, transport, profile, source, reason, raw) VALUES ($1, $2, $3, $4, $5, $6)',
    [r.schoolId, r.transport, r.profile, r.source, r.reason, r.raw],
  );
}

/**
 * Board events after `afterId`, in id order. With `lookbackSeconds`, also those created in the
 * seconds before `afterId` was (a writer that committed late may have a smaller id).
 */
export async function boardEventsAfter(
  db: Queryable,
  schoolId: string,
  afterId: string,
  limit = 500,
  lookbackSeconds = 0,
) {
  const { rows } = await db.query<{ id: string; type: string; payload: Record<string, unknown> }>(
    `SELECT id, type, payload FROM board_events WHERE school_id = $1 AND (id > $2 OR ($4 > 0 AND created_at >=
       (SELECT created_at FROM board_events WHERE id = $2) - make_interval(secs => $4)))
     ORDER BY id LIMIT $3`,
    [schoolId, afterId, limit, lookbackSeconds],
  );
  return rows.map((r) => ({ id: String(r.id), type: r.type, payload: r.payload }));
}

export interface IngestWrite {
  schoolId: string;
  event: FobEvent;
  staffId: string | null;
  transport: 'mqtt' | 'webhook';
  profile: string;
  raw: string;
  webhookId: string | null;
  isAlarm: boolean;
  /** The board event's payload (ids only); the alarm id is added. */
  boardPayload: Record<string, unknown>;
  /** The escalation policy, snapshotted onto the alarm. */
  policy: unknown;
}

/**
 * The whole durable write of an accepted fob event as ONE statement (so one round trip, atomic
 * without an explicit transaction): the webhook id (a replay writes nothing), the event row (once
 * per device event), and for an alarm the alarm, its audit entry and its board event.
 * Returns nulls when nothing was written (a duplicate).
 */
export async function writeFobEvent(db: Queryable, w: IngestWrite) {
  const ev = w.event;
  const { rows } = await db.query<{
    event_id: string | null;
    alarm_id: string | null;
    board_id: string | null;
  }>(
    `WITH wh AS (
       INSERT INTO webhook_receipts (school_id, webhook_id) SELECT $1, $13 WHERE $13::text IS NOT NULL
       ON CONFLICT DO NOTHING RETURNING 1
     ), ev AS (
       INSERT INTO fob_events (school_id, device_id, vendor_event_id, type, occurred_at, received_at, staff_id, location,
         battery_percent, message, voice_note_url, transport, profile, raw)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $15
       WHERE $13::text IS NULL OR EXISTS (SELECT 1 FROM wh)
       ON CONFLICT (school_id, device_id, vendor_event_id) DO NOTHING RETURNING id
     ), al AS (
       INSERT INTO alarms (school_id, fob_event_id, device_id, staff_id, unknown_device, type, status, raised_at, policy)
       SELECT $1, ev.id, $2, $7, $7::text IS NULL, $4, 'open', $5, $18::jsonb FROM ev WHERE $16 RETURNING id
     ), tl AS (
       INSERT INTO alarm_timeline (alarm_id, at, event)
       SELECT al.id, $5, 'alarm raised: ' || replace($4::text, '_', ' ') FROM al
     ), au AS (
       INSERT INTO audit_log (actor, action, school_id, entity_type, entity_id, after)
       SELECT 'system:fob-ingest', 'alarm.raised', $1, 'alarm', al.id::text,
              jsonb_build_object('type', $4::text, 'device', $2::text, 'staff', $7::text, 'unknownDevice', $7::text IS NULL)
       FROM al
     ), be AS (
       INSERT INTO board_events (school_id, type, payload)
       SELECT $1, 'alarm.raised', $17::jsonb || jsonb_build_object('alarmId', al.id::text) FROM al RETURNING id
     )
     SELECT (SELECT id FROM ev) AS event_id, (SELECT id FROM al) AS alarm_id, (SELECT id FROM be) AS board_id`,
    [
      w.schoolId,
      ev.deviceId,
      ev.vendorEventId,
      ev.type,
      ev.occurredAt,
      ev.receivedAt,
      w.staffId,
      ev.location ? JSON.stringify(ev.location) : null,
      ev.batteryPercent,
      ev.message,
      ev.voiceNoteUrl,
      w.transport,
      w.webhookId,
      w.profile,
      w.raw,
      w.isAlarm,
      JSON.stringify(w.boardPayload),
      JSON.stringify(w.policy),
    ],
  );
  const r = rows[0]!;
  return {
    eventId: r.event_id === null ? null : String(r.event_id),
    alarmId: r.alarm_id === null ? null : String(r.alarm_id),
    boardId: r.board_id === null ? null : String(r.board_id),
  };
}
