-- Pupils, their contacts and flags, per school, keyed by the MIS's own id.
CREATE TABLE pupils (
  school_id      TEXT NOT NULL,
  mis_id         TEXT NOT NULL,
  upn            TEXT,
  forename       TEXT,
  surname        TEXT,
  preferred_name TEXT,
  dob            DATE,
  year_group     TEXT,
  address        JSONB,                      -- {line1, line2, town, postcode}
  flags          JSONB NOT NULL DEFAULT '{}', -- {cpPlan, cin, lac, senEhcp, youngCarer, welfareConcern}
  updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (school_id, mis_id)
);
CREATE INDEX pupils_upn_idx ON pupils (school_id, upn);

CREATE TABLE pupil_contacts (
  school_id    TEXT NOT NULL,
  pupil_mis_id TEXT NOT NULL,
  priority     INTEGER NOT NULL,
  name         TEXT,
  relationship TEXT,
  phone        TEXT,
  email        TEXT,
  address      JSONB,
  PRIMARY KEY (school_id, pupil_mis_id, priority),
  FOREIGN KEY (school_id, pupil_mis_id) REFERENCES pupils (school_id, mis_id) ON DELETE CASCADE
);

-- One mark per pupil × date × session, with its statutory code and statistical category.
-- Key columns use the "C" collation: ids are compared byte-wise, which keeps the index fast.
CREATE TABLE attendance_marks (
  school_id    TEXT COLLATE "C" NOT NULL,
  pupil_mis_id TEXT COLLATE "C" NOT NULL,
  date         DATE NOT NULL,
  session      TEXT COLLATE "C" NOT NULL CHECK (session IN ('AM', 'PM')),
  code         TEXT NOT NULL,
  category     TEXT NOT NULL CHECK (category IN ('present', 'approved_activity', 'authorised_absence',
                                                  'unauthorised_absence', 'not_possible')),
  local_code   TEXT,
  minutes_late INTEGER,
  import_id    BIGINT NOT NULL,
  updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (school_id, pupil_mis_id, date, session)
);

-- Every import unit (a file, or an API page): what it did, or why it was refused.
CREATE TABLE imports (
  id              BIGSERIAL PRIMARY KEY,
  school_id       TEXT NOT NULL,
  source          TEXT NOT NULL,               -- sims-xml | ctf | csv | arbor | wonde
  unit            TEXT NOT NULL,               -- file name, or e.g. "arbor attendance-records page 3"
  sha256          TEXT,
  status          TEXT NOT NULL CHECK (status IN ('applied', 'refused', 'dry-run')),
  started_at      TIMESTAMPTZ NOT NULL,
  finished_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
  pupils_inserted INTEGER NOT NULL DEFAULT 0,
  pupils_updated  INTEGER NOT NULL DEFAULT 0,
  marks_inserted  INTEGER NOT NULL DEFAULT 0,
  marks_updated   INTEGER NOT NULL DEFAULT 0,
  marks_unchanged INTEGER NOT NULL DEFAULT 0,
  rejected        JSONB NOT NULL DEFAULT '[]', -- [{where, reason}] (ids and positions only)
  error           TEXT,
  changed_pupils  JSONB NOT NULL DEFAULT '[]', -- MIS ids whose marks changed
  evaluation_enqueued_at TIMESTAMPTZ           -- trigger evaluation handed to the queue
);
CREATE INDEX imports_school_idx ON imports (school_id, id);
CREATE INDEX imports_pending_eval_idx ON imports (school_id) WHERE status = 'applied' AND evaluation_enqueued_at IS NULL;

-- Incremental sync position per school and API source (e.g. Arbor changelog revision).
CREATE TABLE sync_cursors (
  school_id  TEXT NOT NULL,
  source     TEXT NOT NULL,
  cursor     TEXT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (school_id, source)
);
