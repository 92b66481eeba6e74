-- The visit lifecycle: a worker out is watched until they are back safe, whatever else is recorded.
-- `returned_at` is the moment monitoring ended (back safe); an outcome or a cancellation while out
-- no longer sets it.
ALTER TABLE visits ADD COLUMN arrived_at TIMESTAMPTZ;
ALTER TABLE visits ADD COLUMN worker_phone TEXT;
ALTER TABLE visits ADD COLUMN vehicle JSONB;
ALTER TABLE visits ADD COLUMN fob_device_id TEXT;
ALTER TABLE visits ADD COLUMN back_safe_by TEXT;
-- The child was not seen: the pupil stays on the board under "needs follow-up" until someone records
-- what was done.
ALTER TABLE visits ADD COLUMN follow_up_done_at TIMESTAMPTZ;
ALTER TABLE visits ADD COLUMN follow_up_done_by TEXT;
CREATE INDEX visits_out ON visits (school_id) WHERE departed_at IS NOT NULL AND returned_at IS NULL;

-- Each new return time the worker or the office set, with why.
CREATE TABLE visit_return_changes (
  id          BIGSERIAL PRIMARY KEY,
  visit_id    BIGINT NOT NULL REFERENCES visits (id),
  at          TIMESTAMPTZ NOT NULL,
  by_user_id  BIGINT,
  previous_at TIMESTAMPTZ,
  new_at      TIMESTAMPTZ NOT NULL,
  reason      TEXT NOT NULL
);

-- An acknowledgement that times out reopens the alarm, which re-enters its ladder at the step it had
-- reached; `reopened` counts the times (and keeps the re-entry's job id unique).
ALTER TABLE alarms ADD COLUMN resume_step INTEGER;
ALTER TABLE alarms ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;

ALTER TABLE alarms DROP CONSTRAINT alarms_resolution_reason_check;
ALTER TABLE alarms ADD CONSTRAINT alarms_resolution_reason_check
  CHECK (resolution_reason IN ('test', 'false_alarm', 'incident_without_dispatch', 'incident_with_dispatch',
                               'worker_safe', 'worker_safe_contacted', 'worker_safe_running_late'));
