-- The alarm path's durable write as two plpgsql functions, so each ingest connection plans their
-- statements once and then only executes them (planning the one-statement write cost more than
-- running it). Both take a group of accepted fob events as a JSON array and write them in one
-- statement; each returns, per event by its position in the array (0-based), the row it wrote.
-- A report (location, battery, timer, check-in) writes its fob_events row only; an alarm also its
-- alarm, timeline entry, audit entry and board event.

CREATE FUNCTION write_fob_reports(events jsonb)
RETURNS TABLE (i int, event_id bigint, id_conflict boolean)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
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
    )
    SELECT input.i, ev.id, ev.id_conflict FROM ev JOIN input ON input.school_id = ev.school_id
      AND input.device_id = ev.device_id AND input.vendor_event_id = ev.vendor_event_id
      AND input.content_hash = ev.content_hash;
END
$fn$;

CREATE FUNCTION write_fob_alarms(events jsonb)
RETURNS TABLE (i int, event_id bigint, alarm_id bigint, board_id bigint, id_conflict boolean)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
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
     ), al AS (
       INSERT INTO alarms (school_id, fob_event_id, device_id, staff_id, unknown_device, type, status, raised_at, policy, trust_issue)
       SELECT school_id, id, device_id, staff_id, staff_id IS NULL, type, 'open', occurred_at, policy, trust_issue
       FROM evi WHERE is_alarm ORDER BY i RETURNING id, fob_event_id
     ), ali AS (
       SELECT al.id AS alarm_id, evi.* FROM al JOIN evi ON evi.id = al.fob_event_id
     ), tl AS (
       INSERT INTO alarm_timeline (alarm_id, at, event)
       SELECT alarm_id, occurred_at, 'alarm raised: ' || replace(type, '_', ' ')
              || CASE WHEN trust_issue IS NULL THEN '' ELSE ' (not verified: ' || trust_issue || ')' END FROM ali
     ), au AS (
       INSERT INTO audit_log (actor, action, school_id, entity_type, entity_id, after)
       SELECT 'system:fob-ingest', 'alarm.raised', school_id, 'alarm', alarm_id::text,
              jsonb_build_object('type', type, 'device', device_id, 'staff', staff_id, 'unknownDevice', staff_id IS NULL,
                                 'claimedDevice', claimed_device_id, 'trustIssue', trust_issue, 'idConflict', id_conflict)
       FROM ali
     ), be AS (
       INSERT INTO board_events (school_id, type, payload)
       SELECT school_id, 'alarm.raised', board_payload || jsonb_build_object('alarmId', alarm_id::text) FROM ali
       ORDER BY i RETURNING id, payload->>'alarmId' AS alarm_id
     )
     SELECT evi.i, evi.id AS event_id, ali.alarm_id, be.id AS board_id, evi.id_conflict
     FROM evi LEFT JOIN ali ON ali.id = evi.id LEFT JOIN be ON be.alarm_id = ali.alarm_id::text;
END
$fn$;
