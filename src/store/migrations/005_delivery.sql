-- Delivery bookkeeping for the outbox, and alerts for the data manager.
ALTER TABLE outbox ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;  -- bumped by "retry" so a new job id is used
ALTER TABLE outbox ADD COLUMN unmatched BOOLEAN NOT NULL DEFAULT false; -- delivered, but a pupil was not matched (CPOMS tray)
ALTER TABLE outbox ADD COLUMN delivered_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN enqueued_generation INTEGER;            -- generation last handed to the queue

CREATE TABLE alerts (
  id              BIGSERIAL PRIMARY KEY,
  school_id       TEXT NOT NULL,
  kind            TEXT NOT NULL,        -- e.g. delivery_failed
  message         TEXT NOT NULL,        -- ids and reasons only
  entity_type     TEXT,
  entity_id       TEXT,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  acknowledged_at TIMESTAMPTZ,
  acknowledged_by TEXT
);
CREATE INDEX alerts_open ON alerts (school_id, created_at) WHERE acknowledged_at IS NULL;
