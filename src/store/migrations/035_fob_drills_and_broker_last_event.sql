-- Two additions to the alarm path (issue 21).
--
-- Fob drills: a TEST alarm runs a device's whole ladder so a school can rehearse it; it is marked
-- on the alarm row (the board card, every notification's text, the timeline, the audit entry and
-- the incident record say TEST) and its resolution defaults to `test`. It is written by the one
-- writer, raise_alarms, which now takes `test` (absent: false) and records it on the row, in the
-- audit entry and in the board event.
ALTER TABLE alarms ADD COLUMN test BOOLEAN NOT NULL DEFAULT false;

-- The broker's last event: when the ingest role last received a message on a school's MQTT feed
-- (written at most every few seconds per feed), so the board can say "last event from the broker
-- N s ago" and turn red past the school's fobs.brokerSilenceSeconds.
ALTER TABLE ingest_status ADD COLUMN last_event_at TIMESTAMPTZ;

CREATE OR REPLACE FUNCTION raise_alarms(alarms jsonb)
RETURNS TABLE (i int, alarm_id bigint, board_id bigint, fob_event_id bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
    WITH input AS (
       SELECT (e.i - 1)::int AS i, t.* FROM jsonb_array_elements(alarms) WITH ORDINALITY AS e(j, i),
         jsonb_to_record(e.j) AS t(school_id text, fob_event_id bigint, visit_id bigint, dedup_key text,
           device_id text, staff_id text, type text, raised_at timestamptz, policy jsonb, location jsonb,
           trust_issue text, timeline text, actor text, audit jsonb, board_payload jsonb, test boolean)
     ), al AS (
       INSERT INTO alarms (school_id, fob_event_id, visit_id, dedup_key, device_id, staff_id, unknown_device, type,
         status, raised_at, policy, location, trust_issue, test)
       SELECT school_id, fob_event_id, visit_id, dedup_key, device_id, staff_id,
              device_id IS NOT NULL AND staff_id IS NULL, type, 'open', raised_at, policy, location, trust_issue,
              coalesce(test, false)
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
                'key', dedup_key, 'trustIssue', trust_issue, 'test', CASE WHEN test THEN true END))
                || coalesce(audit, '{}'::jsonb)
       FROM ali
     ), be AS (
       INSERT INTO board_events (school_id, type, payload)
       SELECT school_id, 'alarm.raised', coalesce(board_payload, '{}'::jsonb)
                || jsonb_build_object('alarmId', alarm_id::text, 'type', type)
                || CASE WHEN test THEN '{"test": true}'::jsonb ELSE '{}'::jsonb END
       FROM ali ORDER BY i RETURNING id, payload->>'alarmId' AS alarm_id
     )
     SELECT ali.i, ali.alarm_id, be.id, ali.fob_event_id FROM ali JOIN be ON be.alarm_id = ali.alarm_id::text;
END
$fn$;
