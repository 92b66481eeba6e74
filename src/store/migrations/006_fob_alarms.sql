-- Every accepted lone-worker device event (alarms, timers, check-ins), once per device event.
CREATE TABLE fob_events (
  id              BIGSERIAL PRIMARY KEY,
  school_id       TEXT COLLATE "C" NOT NULL,
  device_id       TEXT COLLATE "C" NOT NULL,
  vendor_event_id TEXT COLLATE "C" NOT NULL,
  type            TEXT NOT NULL,
  occurred_at     TIMESTAMPTZ NOT NULL,
  received_at     TIMESTAMPTZ NOT NULL,
  staff_id        TEXT,                 -- from the device registry; NULL for an unknown device
  location        JSONB,
  battery_percent REAL,
  message         TEXT,
  voice_note_url  TEXT,
  transport       TEXT NOT NULL,        -- mqtt | webhook
  profile         TEXT NOT NULL,
  raw             TEXT NOT NULL,        -- the payload as received
  UNIQUE (school_id, device_id, vendor_event_id)
);
CREATE INDEX fob_events_device_time ON fob_events (school_id, device_id, occurred_at);

-- Alarms for the office: open until a person acknowledges, then resolved with a reason.
CREATE TABLE alarms (
  id             BIGSERIAL PRIMARY KEY,
  school_id      TEXT NOT NULL,
  fob_event_id   BIGINT NOT NULL UNIQUE REFERENCES fob_events (id),
  device_id      TEXT NOT NULL,
  staff_id       TEXT,
  unknown_device BOOLEAN NOT NULL,
  type           TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
  raised_at      TIMESTAMPTZ NOT NULL,
  created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX alarms_open ON alarms (school_id, status, raised_at);

-- Standard Webhooks `webhook-id`s already accepted (a replay is answered 200 and changes nothing).
CREATE TABLE webhook_receipts (
  school_id   TEXT NOT NULL,
  webhook_id  TEXT NOT NULL,
  received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (school_id, webhook_id)
);

-- Payloads that could not be decoded: kept with the reason, acknowledged so they do not loop.
CREATE TABLE rejected_events (
  id          BIGSERIAL PRIMARY KEY,
  school_id   TEXT NOT NULL,
  transport   TEXT NOT NULL,
  profile     TEXT NOT NULL,
  source      TEXT,                  -- MQTT topic or webhook id
  reason      TEXT NOT NULL,
  raw         TEXT NOT NULL,
  received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- What the board shows live (SSE), in order; a reconnecting board catches up from its last id.
CREATE TABLE board_events (
  id         BIGSERIAL PRIMARY KEY,
  school_id  TEXT NOT NULL,
  type       TEXT NOT NULL,           -- alarm.raised, …
  payload    JSONB NOT NULL,          -- ids only
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX board_events_school ON board_events (school_id, id);
