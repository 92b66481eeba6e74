-- Heath Lane: dangerous people or houses are "recorded on CPOMS and recorded as a pastoral note on the
-- child's arbor front page": an address flag is a record for each pupil who lives there.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
  CHECK (kind IN ('trigger_note', 'visit_outcome', 'visit_concern', 'lone_worker_incident', 'address_flag'));
