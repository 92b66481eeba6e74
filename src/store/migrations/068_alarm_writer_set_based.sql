-- The one alarm writer (raise_alarms, migrations 022 and 035) made linear in the size of its group.
-- At 4,000 fob events a second the ingest role writes groups of hundreds of alarms in one statement,
-- and two of its steps cost per alarm in proportion to the group: matching each inserted alarm back
-- to its input row by `fob_event_id = … OR dedup_key = …` (an OR cannot be hashed: a nested loop,
-- 89,700 comparisons for a group of 300), and the audit entry written through the audit_log view,
-- whose INSTEAD OF trigger runs two inserts in PL/pgSQL once per row. Measured on the ingest's own
-- groups (`npm run bench:alarm`): a group of 300 took ~240 µs of the database per alarm against
-- ~140 µs for a group of 100, so the further the path fell behind, the more each alarm cost.
--
-- Now the match is two hash joins (by fob event, by key), and each alarm keeps one input row, the
-- first in the group: before, a key (or a fob event) twice in one group inserted one alarm but
-- matched it to both rows, so it got two timeline entries, two audit entries and two board events,
-- and the caller two results for it. The audit entry and its details go to the view's two tables directly,
-- as `appendAuditMany` (src/store/audit.ts) writes them: ids from the view's sequence, in the
-- group's order, the details only where there is an after. What is written is unchanged.
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
         UNION ALL
         SELECT al.id AS alarm_id, input.* FROM al JOIN input ON input.dedup_key = al.dedup_key
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
