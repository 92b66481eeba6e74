-- A failed record that can never be sent (an Arbor-only school's lone-worker incident away from a
-- visit: an Arbor note must name a student) is recorded by hand by a person, who then dismisses it:
-- `dismissed`, a final unsent state, saying who, when and why (where it was recorded). A dismissed
-- row goes with the retention's `records` kind after `recordDays`, its text after
-- `deliveredRecordBodyDays`, as a delivered one's.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
  CHECK (status IN ('pending', 'preview', 'delivering', 'delivered', 'failed', 'dismissed'));
ALTER TABLE outbox ADD COLUMN dismissed_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN dismissed_by TEXT;
ALTER TABLE outbox ADD COLUMN dismiss_reason TEXT;
