-- The one alarm writer (raise_alarms, migration 068) matches each alarm it wrote to the input row it
-- was written from, and to no other. 068 matched an alarm to every row naming its fob event or its
-- key, then kept the first: a row skipped because its fob event (or its key) was raised before, but
-- naming the same key (or fob event) as a later row that was written, took that alarm — its
-- timeline entry, audit entry and board event were the skipped row's, and the caller was told the
-- skipped row's position and fob event. Now a row matches an alarm only when both its fob event and
-- its key are the alarm's (still two hash joins: by fob event, and by key for alarms from no fob
-- event); of rows alike in both, the first in the group is the one written. Nothing else changes.
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
       SELECT DISTINCT ON (alarm_id) * FROM (
         SELECT al.id AS alarm_id, input.* FROM al JOIN input ON input.fob_event_id = al.fob_event_id
           AND input.dedup_key IS NOT DISTINCT FROM al.dedup_key
         UNION ALL
         SELECT al.id AS alarm_id, input.* FROM al JOIN input ON input.dedup_key = al.dedup_key
           AND al.fob_event_id IS NULL AND input.fob_event_id IS NULL
       ) matched
       ORDER BY alarm_id, i
     ), tl AS (
       INSERT INTO alarm_timeline (alarm_id, at, event) SELECT alarm_id, raised_at, timeline FROM ali
     ), aud AS MATERIALIZED (
       SELECT nextval('audit_log_id_seq') AS audit_id, actor, school_id, alarm_id,
              jsonb_strip_nulls(jsonb_build_object('type', type, 'device', device_id, 'staff', staff_id,
                'unknownDevice', device_id IS NOT NULL AND staff_id IS NULL, 'visit', visit_id::text,
                'key', dedup_key, 'trustIssue', trust_issue, 'test', CASE WHEN test THEN true END))
                || coalesce(audit, '{}'::jsonb) AS after
       FROM (SELECT * FROM ali ORDER BY i) ordered
     ), aue AS (
       INSERT INTO audit_entries (id, at, actor, action, school_id, entity_type, entity_id)
       SELECT audit_id, now(), actor, 'alarm.raised', school_id, 'alarm', alarm_id::text FROM aud ORDER BY audit_id
     ), aux AS (
       INSERT INTO audit_details (audit_id, school_id, at, before, after)
       SELECT audit_id, school_id, now(), NULL, after FROM aud WHERE after IS NOT NULL ORDER BY audit_id
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
