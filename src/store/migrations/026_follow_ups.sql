-- The follow-up actions an outcome names (King's Gomer: "follow-up actions … logged and monitored"):
-- each a tracked item with its owner and due date, on the board until someone records it done.
CREATE TABLE follow_ups (
  id           BIGSERIAL PRIMARY KEY,
  school_id    TEXT NOT NULL,
  visit_id     BIGINT NOT NULL REFERENCES visits (id),
  pupil_mis_id TEXT NOT NULL,
  action       TEXT NOT NULL,
  owner        TEXT NOT NULL,
  due_on       DATE,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  done_at      TIMESTAMPTZ,
  done_by      BIGINT REFERENCES users (id),
  done_note    TEXT
);
CREATE INDEX follow_ups_open ON follow_ups (school_id, due_on) WHERE done_at IS NULL;
CREATE INDEX follow_ups_visit ON follow_ups (visit_id);
