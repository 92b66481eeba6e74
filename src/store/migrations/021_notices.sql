-- Notices to named people that are not alarms (a child not seen on a visit → the safeguarding team),
-- sent through the school's channels once per visit, kind and target, with their receipts.
CREATE TABLE notices (
  id          BIGSERIAL PRIMARY KEY,
  school_id   TEXT NOT NULL,
  kind        TEXT NOT NULL,
  visit_id    BIGINT REFERENCES visits (id),
  target      TEXT NOT NULL,
  subject     TEXT NOT NULL,
  text        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  last_error  TEXT,
  receipts    JSONB NOT NULL DEFAULT '{}',
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  sent_at     TIMESTAMPTZ,
  UNIQUE (kind, visit_id, target)
);
