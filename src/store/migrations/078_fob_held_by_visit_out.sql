-- A fob event belongs to the visit out that left with its device, over the device registry. A visit
-- records the fob it left with (visits.fob_device_id, the lead's, from the school's fobs.devices at
-- the departure). The registry is read when an event arrives: a fob given to another member of staff
-- (or moved to another school) in the config while its wearer was out made the wearer's SOS someone
-- else's — raised under their staff id, tied to their visit, their address on the card. Now the
-- write statement itself (no round trip more on the alarm path) looks for a visit out at the school
-- the event arrived at that holds the device, and when there is one the event is that visit's: its
-- lead's staff id, at that school (over the routing of a device this school no longer registers to
-- the school that does: `held_at`, the receiving school, with its ladder, `held_policy`), the
-- reassignment said in words on the alarm's first timeline entry. The visit watcher ties the alarm
-- to the visit holding the device (src/store/visit-watch.ts), as it ties every device alarm; until
-- then the board and the alarm's subjects find that visit by its fob (`isAlarmVisit`).
-- Of visits out holding one device (one trip's visits; two leads only in data from before a second
-- departure with a fob out was refused), the one that left first with it.

CREATE INDEX visits_out_fob ON visits (school_id, fob_device_id)
  WHERE departed_at IS NOT NULL AND returned_at IS NULL AND fob_device_id IS NOT NULL;

CREATE OR REPLACE FUNCTION write_fob_reports(events jsonb)
RETURNS TABLE (i int, event_id bigint, id_conflict boolean)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
    WITH given AS (
       SELECT (e.i - 1)::int AS i, t.* FROM jsonb_array_elements(events) WITH ORDINALITY AS e(j, i),
         jsonb_to_record(e.j) AS t(school_id text, device_id text, vendor_event_id text, type text,
           occurred_at timestamptz, received_at timestamptz, staff_id text, location jsonb, battery_percent real,
           message text, voice_note_url text, transport text, profile text, raw text, content_hash text,
           claimed_device_id text, trust_issue text, clock_skew_ms bigint, is_alarm boolean, board_payload jsonb,
           policy jsonb, conflict_in_group boolean)
    ), input AS (
       SELECT g.i, g.school_id, g.device_id, g.vendor_event_id, g.type, g.occurred_at, g.received_at,
              CASE WHEN h.visit_id IS NULL THEN g.staff_id ELSE h.staff_id END AS staff_id,
              g.location, g.battery_percent, g.message, g.voice_note_url, g.transport, g.profile, g.raw,
              g.content_hash, g.claimed_device_id, g.trust_issue, g.clock_skew_ms, g.conflict_in_group
       FROM given g LEFT JOIN LATERAL (
         SELECT v.id AS visit_id, u.staff_id FROM visits v LEFT JOIN users u ON u.id = v.lead_user_id
         WHERE v.school_id = g.school_id AND v.fob_device_id = g.device_id
           AND v.departed_at IS NOT NULL AND v.returned_at IS NULL
           AND v.departed_at <= GREATEST(g.occurred_at, g.received_at)
         ORDER BY v.departed_at, v.id LIMIT 1
       ) h ON true
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

-- Its result gains where and whose each alarm was raised (school, staff id) and the visit out that
-- holds its device, if any: the first step taken in the ingest process starts from them
-- (src/alarms/recent-raises.ts), and the ingest tells the feed's school apart from the device's.
DROP FUNCTION write_fob_alarms(jsonb);
CREATE FUNCTION write_fob_alarms(events jsonb)
RETURNS TABLE (i int, event_id bigint, alarm_id bigint, board_id bigint, id_conflict boolean, school_id text,
  staff_id text, visit_id bigint)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  written jsonb;
  raised jsonb;
BEGIN
  WITH given AS (
     SELECT (e.i - 1)::int AS i, t.* FROM jsonb_array_elements(events) WITH ORDINALITY AS e(j, i),
       jsonb_to_record(e.j) AS t(school_id text, device_id text, vendor_event_id text, type text,
         occurred_at timestamptz, received_at timestamptz, staff_id text, location jsonb, battery_percent real,
         message text, voice_note_url text, transport text, profile text, raw text, content_hash text,
         claimed_device_id text, trust_issue text, clock_skew_ms bigint, is_alarm boolean, board_payload jsonb,
         policy jsonb, conflict_in_group boolean, held_at text, held_policy jsonb, registered_at text)
   ), input AS (
     SELECT g.i, coalesce(h.school_id, g.school_id) AS school_id, g.device_id, g.vendor_event_id, g.type,
            g.occurred_at, g.received_at,
            CASE WHEN h.visit_id IS NULL THEN g.staff_id ELSE h.staff_id END AS staff_id,
            g.location, g.battery_percent, g.message, g.voice_note_url, g.transport, g.profile, g.raw,
            g.content_hash, g.claimed_device_id, g.trust_issue, g.clock_skew_ms, g.is_alarm,
            CASE WHEN h.visit_id IS NULL THEN g.board_payload
                 ELSE coalesce(g.board_payload, '{}'::jsonb) || jsonb_build_object('staffId', h.staff_id,
                   'unknownDevice', h.staff_id IS NULL) END AS board_payload,
            CASE WHEN h.visit_id IS NOT NULL AND g.held_at IS NOT NULL THEN g.held_policy ELSE g.policy END AS policy,
            g.conflict_in_group, h.visit_id,
            -- What the alarm's card says of a device its visit holds that the registry gives elsewhere.
            CASE WHEN h.visit_id IS NULL THEN ''
                 WHEN g.held_at IS NULL AND g.staff_id IS NOT DISTINCT FROM h.staff_id THEN ''
                 ELSE '; device ' || g.device_id || ' is out with visit #' || h.visit_id
                   || ' (it left with it): raised as that visit''s'
                   || coalesce(', its lead staff ' || h.staff_id, '') || ', though '
                   || CASE WHEN g.held_at IS NOT NULL
                        THEN 'the device is now registered at ' || coalesce(g.registered_at, 'another school')
                          || ' and not here'
                        WHEN g.staff_id IS NULL THEN 'the school''s fobs.devices no longer give it to anyone'
                        ELSE 'the school''s fobs.devices now give it to staff ' || g.staff_id END
                   || ' — the config changed while the visit was out' END AS held_note
     FROM given g LEFT JOIN LATERAL (
       SELECT v.id AS visit_id, v.school_id, u.staff_id FROM visits v LEFT JOIN users u ON u.id = v.lead_user_id
       WHERE v.school_id = coalesce(g.held_at, g.school_id) AND v.fob_device_id = g.device_id
         AND v.departed_at IS NOT NULL AND v.returned_at IS NULL
         AND v.departed_at <= GREATEST(g.occurred_at, g.received_at)
       ORDER BY v.departed_at, v.id LIMIT 1
     ) h ON true
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
  SELECT coalesce(jsonb_agg(jsonb_build_object('i', evi.i, 'event_id', evi.id, 'id_conflict', evi.id_conflict,
           'school_id', evi.school_id, 'staff_id', evi.staff_id, 'visit_id', evi.visit_id)), '[]'),
         coalesce(jsonb_agg(jsonb_build_object(
           'school_id', evi.school_id, 'fob_event_id', evi.id, 'device_id', evi.device_id, 'staff_id', evi.staff_id, 'type', evi.type, 'raised_at', evi.occurred_at, 'policy', evi.policy,
           'location', evi.location, 'trust_issue', evi.trust_issue,
           'timeline', 'alarm raised: ' || replace(evi.type, '_', ' ')
             || CASE WHEN evi.trust_issue IS NULL THEN '' ELSE ' (not verified: ' || evi.trust_issue || ')' END
             || evi.held_note,
           'actor', 'system:fob-ingest',
           'audit', jsonb_build_object('claimedDevice', evi.claimed_device_id, 'idConflict', evi.id_conflict),
           'board_payload', evi.board_payload) ORDER BY evi.i) FILTER (WHERE evi.is_alarm), '[]')
    INTO written, raised
  FROM evi;
  RETURN QUERY
    SELECT w.i, w.event_id, r.alarm_id, r.board_id, w.id_conflict, w.school_id, w.staff_id, w.visit_id
    FROM jsonb_to_recordset(written) AS w(i int, event_id bigint, id_conflict boolean, school_id text,
      staff_id text, visit_id bigint)
    LEFT JOIN raise_alarms(raised) r ON r.fob_event_id = w.event_id;
END
$fn$;
