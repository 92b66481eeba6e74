import type { FobEvent } from '../domain/fob/event.ts';
import { appendAudit } from './audit.ts';
import type { Queryable } from './db.ts';

export interface StoredFobEvent {
  schoolId: string;
  event: FobEvent;
  staffId: string | null;
  transport: 'mqtt' | 'webhook';
  profile: string;
  raw: string;
}

/** Inserts the event once per (school, device, vendor event id); returns its id, or null for a duplicate. */
export async function insertFobEvent(tx: Queryable, e: StoredFobEvent): Promise<string | null> {
  const ev = e.event;
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO fob_events (school_id, device_id, vendor_event_id, type, occurred_at, received_at, staff_id, location,
       battery_percent, message, voice_note_url, transport, profile, raw)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (school_id, device_id, vendor_event_id) DO NOTHING RETURNING id`,
    [
      e.schoolId,
      ev.deviceId,
      ev.vendorEventId,
      ev.type,
      ev.occurredAt,
      ev.receivedAt,
      e.staffId,
      ev.location ? JSON.stringify(ev.location) : null,
      ev.batteryPercent,
      ev.message,
      ev.voiceNoteUrl,
      e.transport,
      e.profile,
      e.raw,
    ],
  );
  return rows[0] ? String(rows[0].id) : null;
}

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

export async function insertAlarm(
  tx: Queryable,
  a: { schoolId: string; fobEventId: string; event: FobEvent; staffId: string | null },
): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO alarms (school_id, fob_event_id, device_id, staff_id, unknown_device, type, status, raised_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) RETURNING id`,
    [
      a.schoolId,
      a.fobEventId,
      a.event.deviceId,
      a.staffId,
      a.staffId === null,
      a.event.type,
      a.event.occurredAt,
    ],
  );
  const id = String(rows[0]!.id);
  await appendAudit(tx, {
    actor: 'system:fob-ingest',
    action: 'alarm.raised',
    schoolId: a.schoolId,
    entityType: 'alarm',
    entityId: id,
    after: {
      type: a.event.type,
      device: a.event.deviceId,
      staff: a.staffId,
      unknownDevice: a.staffId === null,
    },
  });
  return id;
}

/** Returns true when the webhook id is new for the school (false: a replay). */
export async function recordWebhookId(tx: Queryable, schoolId: string, webhookId: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    'INSERT INTO webhook_receipts (school_id, webhook_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [schoolId, webhookId],
  );
  return rowCount === 1;
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

export async function insertBoardEvent(
  tx: Queryable,
  schoolId: string,
  type: string,
  payload: Record<string, unknown>,
) {
  const { rows } = await tx.query<{ id: string }>(
    'INSERT INTO board_events (school_id, type, payload) VALUES ($1, $2, $3) RETURNING id',
    [schoolId, type, JSON.stringify(payload)],
  );
  return String(rows[0]!.id);
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
