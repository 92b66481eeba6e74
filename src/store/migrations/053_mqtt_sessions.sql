-- Each MQTT session Doorstep has held at a broker (by its full client id) and when it last connected
-- with it. A later start whose broker answers "no session" for it has lost whatever was queued for
-- Doorstep meanwhile — said on the board, never silent (the process that held it may be gone). A
-- session of a transport no longer configured (its topics or broker edited) is said the same way:
-- what was queued for it is read by no one.
CREATE TABLE mqtt_sessions (
  school_id     TEXT NOT NULL,
  client_id     TEXT NOT NULL,
  transport_key TEXT NOT NULL,
  seen_at       TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (school_id, client_id)
);
