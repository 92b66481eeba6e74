-- Alarm state for the escalation ladder: the policy snapshotted at raise, the next step due, and
-- who acknowledged / resolved it and why.
ALTER TABLE alarms ADD COLUMN policy JSONB;
ALTER TABLE alarms ADD COLUMN escalation_step INTEGER NOT NULL DEFAULT 0;  -- the next step to run
ALTER TABLE alarms ADD COLUMN acknowledged_at TIMESTAMPTZ;
ALTER TABLE alarms ADD COLUMN acknowledged_by TEXT;
ALTER TABLE alarms ADD COLUMN resolved_at TIMESTAMPTZ;
ALTER TABLE alarms ADD COLUMN resolved_by TEXT;
ALTER TABLE alarms ADD COLUMN resolution_reason TEXT
  CHECK (resolution_reason IN ('test', 'false_alarm', 'incident_without_dispatch', 'incident_with_dispatch'));
ALTER TABLE alarms ADD COLUMN resolution_note TEXT;

-- Everything that happened to an alarm, in order (the incident record's timeline).
CREATE TABLE alarm_timeline (
  id       BIGSERIAL PRIMARY KEY,
  alarm_id BIGINT NOT NULL REFERENCES alarms (id),
  at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  event    TEXT NOT NULL,
  by_whom  TEXT
);
CREATE INDEX alarm_timeline_alarm ON alarm_timeline (alarm_id, id);

-- One row per alarm × ladder step × target: sent exactly once, with its receipt.
CREATE TABLE notifications (
  id         BIGSERIAL PRIMARY KEY,
  alarm_id   BIGINT NOT NULL REFERENCES alarms (id),
  step       INTEGER NOT NULL,
  target     TEXT NOT NULL,
  status     TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts   INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  receipt    TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  sent_at    TIMESTAMPTZ,
  UNIQUE (alarm_id, step, target)
);
