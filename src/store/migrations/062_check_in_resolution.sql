-- A check-in or an arrival stands a missed check-in down with the worker still out: stored as
-- `worker_checked_in` / `worker_arrived`, no longer as `worker_safe` ("the worker is safe and back"),
-- which is back safe's alone. The stored reasons are those of src/domain/escalation/resolution.ts.
ALTER TABLE alarms DROP CONSTRAINT alarms_resolution_reason_check;
ALTER TABLE alarms ADD CONSTRAINT alarms_resolution_reason_check
  CHECK (resolution_reason IN ('test', 'false_alarm', 'incident_without_dispatch', 'incident_with_dispatch',
                               'worker_safe', 'worker_safe_contacted', 'worker_safe_running_late',
                               'worker_checked_in', 'worker_arrived'));
