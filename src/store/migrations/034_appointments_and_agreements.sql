-- Thames View 2.7: "Appointment records must include the time and location along with the name of the
-- pupil on CPOMS" — a visit's appointment time, and how many appointment records were written for it
-- (each change after the first is a new, numbered record; a cancellation its own).
-- Thames View 4.2/4.3: a broken agreement is a record in the pupil's attendance record (the MIS sink);
-- "continued failure … will result in a follow-up visit": a visit asked for in the register, linked to
-- the visit whose agreement was broken (one per original visit).
ALTER TABLE visits ADD COLUMN appointment_at TIMESTAMPTZ;
ALTER TABLE visits ADD COLUMN appointment_records INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN follows_visit_id BIGINT REFERENCES visits (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX visits_one_follow_up_visit ON visits (follows_visit_id) WHERE follows_visit_id IS NOT NULL;
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
  CHECK (kind IN ('trigger_note', 'visit_outcome', 'visit_concern', 'lone_worker_incident', 'address_flag',
                  'visit_appointment', 'agreement_broken'));
