import type { FobEvent } from '../domain/fob/event.ts';
import type { Queryable } from './db.ts';

/** The alarm an exact redelivery of a device event raised the first time, if any. */
export async function alarmForEvent(
  db: Queryable,
  schoolId: string,
  deviceId: string,
  vendorEventId: string,
  contentHash: string,
): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT a.id FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
     WHERE e.school_id = $1 AND e.device_id = $2 AND e.vendor_event_id = $3 AND e.content_hash = $4`,
    [schoolId, deviceId, vendorEventId, contentHash],
  );
  return rows[0] ? String(rows[0].id) : null;
}

/** How much of a rejected payload is kept (enough to see what a gateway sent; junk is not hoarded). */
export const REJECTED_RAW_MAX_BYTES = 4096;

/** A payload that was not accepted, kept with the reason (the first REJECTED_RAW_MAX_BYTES of it). */
export async function insertRejected(
  db: Queryable,
  r: {
    schoolId: string;
    transport: string;
    profile: string;
    source: string | null;
    reason: string;
    raw: Buffer;
  },
): Promise<void> {
  const kept = r.raw.subarray(0, REJECTED_RAW_MAX_BYTES).toString('utf8').replaceAll('\u0000', '');
  await db.query(
    `INSERT INTO rejected_events (school_id, transport, profile, source, reason, raw, raw_bytes)
     VALUES ($1, $2, $3, left($4, 1024), left($5, 1024), $6, $7)`,
    [r.schoolId, r.transport, r.profile, r.source, r.reason, kept, r.raw.length],
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
  /** The event as assessed: the transport's device, a believable time for an alarm. */
  event: FobEvent;
  staffId: string | null;
  transport: 'mqtt' | 'webhook';
  profile: string;
  raw: string;
  contentHash: string;
  claimedDeviceId: string | null;
  trustIssue: string | null;
  clockSkewMs: number | null;
  isAlarm: boolean;
  /** The board event's payload (ids only); the alarm id is added. */
  boardPayload: Record<string, unknown>;
  /** The escalation policy, snapshotted onto the alarm. */
  policy: unknown;
}

/**
 * The whole durable write of an accepted fob event as ONE statement (so one round trip, atomic
 * without an explicit transaction): the event row (once per device, event id and content), and for
 * an alarm the alarm, its timeline, its audit entry and its board event. The same id seen before with
 * other content is flagged `id_conflict` (and still raises its alarm). Returns nulls when nothing was
 * written (an exact redelivery).
 */
export async function writeFobEvent(db: Queryable, w: IngestWrite) {
  const ev = w.event;
  const { rows } = await db.query<{
    event_id: string | null;
    alarm_id: string | null;
    board_id: string | null;
    id_conflict: boolean | null;
  }>(
    `WITH ev AS (
       INSERT INTO fob_events (school_id, device_id, vendor_event_id, type, occurred_at, received_at, staff_id, location,
         battery_percent, message, voice_note_url, transport, profile, raw, content_hash, claimed_device_id,
         trust_issue, clock_skew_ms, id_conflict)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $18, $19, $20, $21,
              EXISTS (SELECT 1 FROM fob_events o WHERE o.school_id = $1 AND o.device_id = $2
                        AND o.vendor_event_id = $3 AND o.content_hash <> $18)
       ON CONFLICT (school_id, device_id, vendor_event_id, content_hash) DO NOTHING RETURNING id, id_conflict
     ), al AS (
       INSERT INTO alarms (school_id, fob_event_id, device_id, staff_id, unknown_device, type, status, raised_at, policy, trust_issue)
       SELECT $1, ev.id, $2, $7, $7::text IS NULL, $4, 'open', $5, $17::jsonb, $20 FROM ev WHERE $15 RETURNING id
     ), tl AS (
       INSERT INTO alarm_timeline (alarm_id, at, event)
       SELECT al.id, $5, 'alarm raised: ' || replace($4::text, '_', ' ')
              || CASE WHEN $20::text IS NULL THEN '' ELSE ' (not verified: ' || $20::text || ')' END FROM al
     ), au AS (
       INSERT INTO audit_log (actor, action, school_id, entity_type, entity_id, after)
       SELECT 'system:fob-ingest', 'alarm.raised', $1, 'alarm', al.id::text,
              jsonb_build_object('type', $4::text, 'device', $2::text, 'staff', $7::text, 'unknownDevice', $7::text IS NULL,
                                 'claimedDevice', $19::text, 'trustIssue', $20::text, 'idConflict', (SELECT id_conflict FROM ev))
       FROM al
     ), be AS (
       INSERT INTO board_events (school_id, type, payload)
       SELECT $1, 'alarm.raised', $16::jsonb || jsonb_build_object('alarmId', al.id::text) FROM al RETURNING id
     )
     SELECT (SELECT id FROM ev) AS event_id, (SELECT id FROM al) AS alarm_id, (SELECT id FROM be) AS board_id,
            (SELECT id_conflict FROM ev) AS id_conflict`,
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
      w.profile,
      w.raw,
      w.isAlarm,
      JSON.stringify(w.boardPayload),
      JSON.stringify(w.policy),
      w.contentHash,
      w.claimedDeviceId,
      w.trustIssue,
      w.clockSkewMs,
    ],
  );
  const r = rows[0]!;
  return {
    eventId: r.event_id === null ? null : String(r.event_id),
    alarmId: r.alarm_id === null ? null : String(r.alarm_id),
    boardId: r.board_id === null ? null : String(r.board_id),
    idConflict: r.id_conflict === true,
  };
}

/** Events whose id was seen before with other content, newest first (for the data manager). */
export async function fobIdConflicts(db: Queryable, schoolId: string, limit = 100) {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT e.id, e.device_id, e.vendor_event_id, e.type, e.received_at, e.transport, e.trust_issue,
            (SELECT a.id FROM alarms a WHERE a.fob_event_id = e.id) AS alarm_id
     FROM fob_events e WHERE e.school_id = $1 AND e.id_conflict ORDER BY e.received_at DESC LIMIT $2`,
    [schoolId, limit],
  );
  return rows.map((r) => ({
    id: String(r.id),
    deviceId: r.device_id as string,
    vendorEventId: r.vendor_event_id as string,
    type: r.type as string,
    receivedAt: new Date(r.received_at as string).toISOString(),
    transport: r.transport as string,
    trustIssue: (r.trust_issue as string | null) ?? null,
    alarmId: r.alarm_id === null ? null : String(r.alarm_id),
  }));
}
