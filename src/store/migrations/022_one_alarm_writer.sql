-- One alarm writer. Every alarm (a fob's SOS, fall or duress; a visit overdue; a missed check-in;
-- a silent fob; a worker's "I need help") is written by raise_alarms: the alarm row, its first
-- timeline entry, its audit entry (one shape: type, device, staff, visit, key, trust, plus the
-- caller's extras) and its board event, in the caller's statement. write_fob_alarms (016) now hands
-- its alarms to it; the visit register calls it through `raiseAlarms` in src/store/alarm-writer.ts.
--
-- Input: a JSON array of alarms. Returns, per alarm written, its position in the array (0-based),
-- the alarm id, its board event id and its fob event id (when it came from one). An alarm whose
-- dedup key was raised before writes nothing and returns no row.

CREATE FUNCTION raise_alarms(alarms jsonb)
RETURNS TABLE (i int, alarm_id bigint, board_id bigint, fob_event_id bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
    WITH input AS (
       SELECT (e.i - 1)::int AS i, t.* FROM jsonb_array_elements(alarms) WITH ORDINALITY AS e(j, i),
         jsonb_to_record(e.j) AS t(school_id text, fob_event_id bigint, visit_id bigint, dedup_key text,
           device_id text, staff_id text, type text, raised_at timestamptz, policy jsonb, location jsonb,
           trust_issue text, timeline text, actor text, audit jsonb, board_payload jsonb)
     ), al AS (
       INSERT INTO alarms (school_id, fob_event_id, visit_id, dedup_key, device_id, staff_id, unknown_device, type,
         status, raised_at, policy, location, trust_issue)
       SELECT school_id, fob_event_id, visit_id, dedup_key, device_id, staff_id,
              device_id IS NOT NULL AND staff_id IS NULL, type, 'open', raised_at, policy, location, trust_issue
       FROM input ORDER BY i
       ON CONFLICT DO NOTHING
       RETURNING id, fob_event_id, dedup_key
     ), ali AS (
       SELECT al.id AS alarm_id, input.* FROM al JOIN input
         ON input.fob_event_id = al.fob_event_id OR input.dedup_key = al.dedup_key
     ), tl AS (
       INSERT INTO alarm_timeline (alarm_id, at, event) SELECT alarm_id, raised_at, timeline FROM ali
     ), au AS (
       INSERT INTO audit_log (actor, action, school_id, entity_type, entity_id, after)
       SELECT actor, 'alarm.raised', school_id, 'alarm', alarm_id::text,
              jsonb_strip_nulls(jsonb_build_object('type', type, 'device', device_id, 'staff', staff_id,
                'unknownDevice', device_id IS NOT NULL AND staff_id IS NULL, 'visit', visit_id::text,
                'key', dedup_key, 'trustIssue', trust_issue)) || coalesce(audit, '{}'::jsonb)
       FROM ali
     ), be AS (
       INSERT INTO board_events (school_id, type, payload)
       SELECT school_id, 'alarm.raised', coalesce(board_payload, '{}'::jsonb)
                || jsonb_build_object('alarmId', alarm_id::text, 'type', type)
       FROM ali ORDER BY i RETURNING id, payload->>'alarmId' AS alarm_id
     )
     SELECT ali.i, ali.alarm_id, be.id, ali.fob_event_id FROM ali JOIN be ON be.alarm_id = ali.alarm_id::text;
END
$fn$;

CREATE OR REPLACE FUNCTION write_fob_alarms(events jsonb)
RETURNS TABLE (i int, event_id bigint, alarm_id bigint, board_id bigint, id_conflict boolean)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  written jsonb;
  raised jsonb;
BEGIN
  WITH input AS (
     SELECT (e.i - 1)::int AS i, t.* FROM jsonb_array_elements(events) WITH ORDINALITY AS e(j, i),
       jsonb_to_record(e.j) AS t(school_id text, device_id text, vendor_event_id text, type text,
         occurred_at timestamptz, received_at timestamptz, staff_id text, location jsonb, battery_percent real,
         message text, voice_note_url text, transport text, profile text, raw text, content_hash text,
         claimed_device_id text, trust_issue text, clock_skew_ms bigint, is_alarm boolean, board_payload jsonb,
         policy jsonb, conflict_in_group boolean)
   ), ev AS (
     INSERT INTO fob_events (school_id, device_id, vendor_event_id, type, occurred_at, received_at, staff_id, location,
       battery_percent, message, voice_note_url, transport, profile, raw, content_hash, claimed_device_id,
       trust_issue, clock_skew_ms, id_conflict)
     SELECT school_id, device_id, vendor_event_id, type, occurred_at, received_at, staff_id, location,
            battery_percent, message, voice_note_url, transport, profile, raw, content_hash, claimed_device_id,
            trust_issue, clock_skew_ms,
            conflict_in_group OR EXISTS (SELECT 1 FROM fob_events o WHERE o.school_id = input.school_id
              AND o.device_id = input.device_id AND o.vendor_event_id = input.vendor_event_id
              AND o.content_hash <> input.content_hash)
     FROM input ORDER BY school_id, device_id, vendor_event_id, content_hash
     ON CONFLICT (school_id, device_id, vendor_event_id, content_hash) DO NOTHING
     RETURNING id, school_id, device_id, vendor_event_id, content_hash, id_conflict
   ), evi AS (
     SELECT ev.id, ev.id_conflict, input.* FROM ev JOIN input ON input.school_id = ev.school_id
       AND input.device_id = ev.device_id AND input.vendor_event_id = ev.vendor_event_id
       AND input.content_hash = ev.content_hash
   )
  SELECT coalesce(jsonb_agg(jsonb_build_object('i', evi.i, 'event_id', evi.id, 'id_conflict', evi.id_conflict)), '[]'),
         coalesce(jsonb_agg(jsonb_build_object(
           'school_id', evi.school_id, 'fob_event_id', evi.id, 'device_id', evi.device_id, 'staff_id', evi.staff_id,
           'type', evi.type, 'raised_at', evi.occurred_at, 'policy', evi.policy, 'location', evi.location,
           'trust_issue', evi.trust_issue,
           'timeline', 'alarm raised: ' || replace(evi.type, '_', ' ')
             || CASE WHEN evi.trust_issue IS NULL THEN '' ELSE ' (not verified: ' || evi.trust_issue || ')' END,
           'actor', 'system:fob-ingest',
           'audit', jsonb_build_object('claimedDevice', evi.claimed_device_id, 'idConflict', evi.id_conflict),
           'board_payload', evi.board_payload) ORDER BY evi.i) FILTER (WHERE evi.is_alarm), '[]')
    INTO written, raised
  FROM evi;
  RETURN QUERY
    SELECT w.i, w.event_id, r.alarm_id, r.board_id, w.id_conflict
    FROM jsonb_to_recordset(written) AS w(i int, event_id bigint, id_conflict boolean)
    LEFT JOIN raise_alarms(raised) r ON r.fob_event_id = w.event_id;
END
$fn$;
