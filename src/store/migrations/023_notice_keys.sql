-- Notices of more kinds than one per visit (a change to a visit, an incident, a concern raised from
-- the phone, the chase of a missing outcome): each is sent once per kind, visit, target and key.
ALTER TABLE notices ADD COLUMN notice_key TEXT NOT NULL DEFAULT '';
ALTER TABLE notices DROP CONSTRAINT notices_kind_visit_id_target_key;
CREATE UNIQUE INDEX notices_once ON notices (school_id, kind, coalesce(visit_id, 0), target, notice_key);
CREATE INDEX visits_awaiting_outcome ON visits (school_id, returned_at) WHERE status = 'returned' AND outcome IS NULL;

-- A concern raised from a visit ("Raise a concern now") is its own record.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
  CHECK (kind IN ('trigger_note', 'visit_outcome', 'visit_concern', 'lone_worker_incident'));
