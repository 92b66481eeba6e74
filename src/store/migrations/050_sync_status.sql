-- Whether each school's MIS sync is working: a sync that fails every time (an API page refused, a
-- token expired, the MIS down) left the marks stale and no trigger fired, with nothing on the data
-- page but the time of the last applied import. The reason is Doorstep's own error text (ids and
-- places, no values).
CREATE TABLE sync_status (
  school_id      TEXT PRIMARY KEY,
  last_ok_at     TIMESTAMPTZ,
  failing_since  TIMESTAMPTZ,
  failures       INTEGER NOT NULL DEFAULT 0,
  last_failed_at TIMESTAMPTZ,
  last_error     TEXT
);
