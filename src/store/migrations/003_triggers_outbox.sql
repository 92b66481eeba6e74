-- Trigger episodes: raised once when a rule's condition starts, updated while it lasts, closed when it ends.
CREATE TABLE trigger_episodes (
  id           BIGSERIAL PRIMARY KEY,
  school_id    TEXT COLLATE "C" NOT NULL,
  pupil_mis_id TEXT COLLATE "C" NOT NULL,
  rule_key     TEXT COLLATE "C" NOT NULL,     -- pack:rule
  title        TEXT NOT NULL,
  action       TEXT NOT NULL,                 -- phone-call | home-visit | la-notification | …
  role         TEXT NOT NULL,                 -- who acts
  status       TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  opened_on    DATE NOT NULL,
  closed_on    DATE,
  explanation  TEXT NOT NULL,
  evidence     JSONB NOT NULL,
  updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX trigger_episodes_one_open ON trigger_episodes (school_id, pupil_mis_id, rule_key) WHERE status = 'open';
CREATE INDEX trigger_episodes_school_status ON trigger_episodes (school_id, status, opened_on);

-- Outbound records (CPOMS / Arbor pastoral / preview), written in the same transaction as the event
-- that causes them and delivered by the deliver-record job. One row per idempotency key.
CREATE TABLE outbox (
  id              BIGSERIAL PRIMARY KEY,
  school_id       TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('trigger_note', 'visit_outcome', 'lone_worker_incident')),
  pupil_ids       JSONB NOT NULL DEFAULT '[]',   -- MIS ids
  title           TEXT NOT NULL,
  body            TEXT NOT NULL,
  occurred_at     TIMESTAMPTZ NOT NULL,
  sink            TEXT NOT NULL,                 -- preview | cpoms | arbor-pastoral
  idempotency_key TEXT NOT NULL UNIQUE,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'preview', 'delivering', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  remote_id       TEXT,
  source_type     TEXT NOT NULL,                 -- e.g. trigger_episode
  source_id       TEXT NOT NULL,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outbox_school_status ON outbox (school_id, status, id);
