-- King's 2.4: "If follow-up actions are required, these should be logged and monitored on CPOMS" —
-- the outcome's record logs them; a follow-up recorded done is a record of its own (what was done,
-- by whom, when), so the school's safeguarding record shows it closed.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
  CHECK (kind IN ('trigger_note', 'visit_outcome', 'visit_concern', 'lone_worker_incident', 'address_flag',
                  'visit_appointment', 'agreement_broken', 'follow_up_done'));
