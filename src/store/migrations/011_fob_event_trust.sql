-- An event id is a hint for de-duplication, never a way to silence an alarm. A fob event is the same
-- event only when its device, its id AND its content match (an exact redelivery); the same id with
-- other content is stored as a new event flagged as an id conflict (and, for an alarm type, raises
-- its alarm). The webhook id no longer decides anything on its own (a replay is an exact redelivery).
ALTER TABLE fob_events ADD COLUMN content_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE fob_events DROP CONSTRAINT fob_events_school_id_device_id_vendor_event_id_key;
ALTER TABLE fob_events ADD CONSTRAINT fob_events_identity UNIQUE (school_id, device_id, vendor_event_id, content_hash);
-- The id was seen before with other content.
ALTER TABLE fob_events ADD COLUMN id_conflict BOOLEAN NOT NULL DEFAULT false;
-- The device the payload named, when the transport knows a different one (the row's device_id is the
-- transport's: the MQTT topic level the broker's ACL allows the gateway to publish on).
ALTER TABLE fob_events ADD COLUMN claimed_device_id TEXT;
-- Why this event is not trusted (device mismatch, missing or bad device signature); NULL when it is.
-- Only alarms are ever stored untrusted: they raise their alarm, flagged; anything else is rejected.
ALTER TABLE fob_events ADD COLUMN trust_issue TEXT;
-- occurred_at - received_at in ms when the device's clock is further ahead than the school allows:
-- the event is then not counted as a check-in, and an alarm takes its received time.
ALTER TABLE fob_events ADD COLUMN clock_skew_ms BIGINT;
CREATE INDEX fob_events_id_conflicts ON fob_events (school_id, received_at) WHERE id_conflict;
DROP TABLE webhook_receipts;

ALTER TABLE alarms ADD COLUMN trust_issue TEXT;

-- Rejected payloads are kept only up to a bound (the reason says how long the original was).
ALTER TABLE rejected_events ADD COLUMN raw_bytes INTEGER;

-- Each MQTT transport's client id, generated once (not guessable) and kept, so a persistent session
-- survives restarts without a predictable identity anyone could take over.
CREATE TABLE mqtt_client_ids (
  school_id     TEXT NOT NULL,
  transport_key TEXT NOT NULL,
  client_id     TEXT NOT NULL UNIQUE,
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (school_id, transport_key)
);

-- Whether each school's fob feed is arriving, as the office board shows it.
CREATE TABLE ingest_status (
  school_id     TEXT NOT NULL,
  transport_key TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('up', 'down')),
  reason        TEXT,
  since         TIMESTAMPTZ NOT NULL,
  updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (school_id, transport_key)
);
