-- A trigger whose action is not a visit (a phone call home, an attendance meeting, the local authority
-- told, a removal-from-roll review, a missing-education check) recorded done by the office or the
-- safeguarding team: on which day, by whom, what was done. It leaves the board's waiting list; the
-- episode itself stays open until its condition ends, as before.
ALTER TABLE trigger_episodes ADD COLUMN action_done_on DATE;
ALTER TABLE trigger_episodes ADD COLUMN action_done_by TEXT;
ALTER TABLE trigger_episodes ADD COLUMN action_note TEXT;
ALTER TABLE trigger_episodes ADD COLUMN action_recorded_at TIMESTAMPTZ;

-- Its record: what was done, on which day, by whom, to the school's sinks.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
  CHECK (kind IN ('trigger_note', 'visit_outcome', 'visit_concern', 'lone_worker_incident', 'address_flag',
                  'visit_appointment', 'agreement_broken', 'follow_up_done', 'trigger_action'));
