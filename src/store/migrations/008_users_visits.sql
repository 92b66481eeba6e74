-- Local accounts for the web front end. Passwords are scrypt hashes (never the password itself);
-- repeated failures lock the account for a while.
CREATE TABLE users (
  id              BIGSERIAL PRIMARY KEY,
  username        TEXT NOT NULL UNIQUE,
  display_name    TEXT NOT NULL,
  password_hash   TEXT NOT NULL,
  roles           TEXT[] NOT NULL,              -- office | visiting-staff | safeguarding | data-manager | admin
  positions       TEXT[] NOT NULL DEFAULT '{}', -- e.g. dsl, headteacher, associate-head (policy authorisers)
  schools         TEXT[] NOT NULL DEFAULT '{}', -- school ids; empty = every school of the trust
  staff_id        TEXT,                         -- the device registry's staff id, when this person carries a fob
  phone           TEXT,
  email           TEXT,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  locked_until    TIMESTAMPTZ,
  disabled        BOOLEAN NOT NULL DEFAULT false,
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Sign-in sessions: the cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
  token_hash   TEXT PRIMARY KEY,
  user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  csrf_token   TEXT NOT NULL,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at   TIMESTAMPTZ NOT NULL,
  last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Addresses staff must know about before they go (recorded by the safeguarding team).
CREATE TABLE address_flags (
  id         BIGSERIAL PRIMARY KEY,
  school_id  TEXT NOT NULL,
  postcode   TEXT NOT NULL,                -- normalised: upper case, no spaces
  line1      TEXT,                         -- NULL: the whole postcode
  level      TEXT NOT NULL CHECK (level IN ('caution', 'dangerous')),
  note       TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX address_flags_postcode ON address_flags (school_id, postcode);

-- The visit register: request → authorisation → departure → check-ins → return → outcome.
CREATE TABLE visits (
  id                 BIGSERIAL PRIMARY KEY,
  school_id          TEXT NOT NULL,
  pupil_mis_id       TEXT NOT NULL,
  trigger_episode_id BIGINT REFERENCES trigger_episodes (id),
  reason             TEXT NOT NULL,
  address            JSONB NOT NULL,         -- {line1, line2, town, postcode} from the MIS, or as typed
  planned_for        DATE NOT NULL,
  risk_notes         TEXT,
  risk_level         TEXT NOT NULL DEFAULT 'low' CHECK (risk_level IN ('low', 'minor', 'major')),
  status             TEXT NOT NULL CHECK (status IN ('requested', 'authorised', 'departed', 'returned', 'completed', 'cancelled')),
  requested_by       BIGINT NOT NULL REFERENCES users (id),
  requested_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  authorised_by      BIGINT REFERENCES users (id),
  authorised_at      TIMESTAMPTZ,
  authorisation_note TEXT,                   -- e.g. "day list signed"
  lead_user_id       BIGINT REFERENCES users (id),
  partner_user_id    BIGINT REFERENCES users (id),
  departed_at        TIMESTAMPTZ,
  expected_return_at TIMESTAMPTZ,
  check_in_minutes   INTEGER,
  safe_word          TEXT,
  last_check_in_at   TIMESTAMPTZ,
  returned_at        TIMESTAMPTZ,
  outcome            JSONB,
  completed_at       TIMESTAMPTZ,
  cancelled_at       TIMESTAMPTZ,
  cancel_reason      TEXT,
  updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX visits_school_status ON visits (school_id, status, planned_for);

CREATE TABLE visit_check_ins (
  id           BIGSERIAL PRIMARY KEY,
  visit_id     BIGINT NOT NULL REFERENCES visits (id),
  at           TIMESTAMPTZ NOT NULL,
  source       TEXT NOT NULL CHECK (source IN ('phone', 'fob', 'office')),
  by_user_id   BIGINT REFERENCES users (id),
  fob_event_id BIGINT REFERENCES fob_events (id),
  UNIQUE (fob_event_id)
);
CREATE INDEX visit_check_ins_visit ON visit_check_ins (visit_id, at);

-- Alarms the visit watcher raises (overdue, missed check-in) have no device event: they belong to a
-- visit, once per dedup key (e.g. visit:12:overdue, visit:12:missed-check-in:<due>).
ALTER TABLE alarms ALTER COLUMN fob_event_id DROP NOT NULL;
ALTER TABLE alarms ALTER COLUMN device_id DROP NOT NULL;
ALTER TABLE alarms ADD COLUMN visit_id BIGINT REFERENCES visits (id);
ALTER TABLE alarms ADD COLUMN dedup_key TEXT UNIQUE;
ALTER TABLE alarms ADD COLUMN next_step_at TIMESTAMPTZ;
ALTER TABLE alarms ADD CONSTRAINT alarms_has_source CHECK (fob_event_id IS NOT NULL OR dedup_key IS NOT NULL);
ALTER TABLE alarms DROP CONSTRAINT alarms_resolution_reason_check;
ALTER TABLE alarms ADD CONSTRAINT alarms_resolution_reason_check
  CHECK (resolution_reason IN ('test', 'false_alarm', 'incident_without_dispatch', 'incident_with_dispatch', 'worker_safe'));

-- One person per device-registry staff id (the board names who pressed SOS).
CREATE UNIQUE INDEX users_staff_id ON users (staff_id) WHERE staff_id IS NOT NULL;
