-- Marks an MIS API sync could not apply yet, kept to apply later: a sync's cursor moves past every
-- record it read, so a mark rejected for now — dated ahead (a planned absence entered in advance),
-- or for a pupil not yet imported (created in the MIS between the students' read and the marks') —
-- was never read again. Applied at the first sync that can, then taken out; one that still cannot
-- after 30 days is dropped.
CREATE TABLE held_marks (
  school_id      TEXT NOT NULL,
  source         TEXT NOT NULL,
  pupil_mis_id   TEXT NOT NULL,
  date           DATE NOT NULL,
  session        TEXT NOT NULL,
  mark           TEXT NOT NULL,
  minutes_late   INTEGER,
  record_id      TEXT,
  vendor_category TEXT,
  why            TEXT NOT NULL,
  held_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (school_id, source, pupil_mis_id, date, session)
);
CREATE INDEX held_marks_record ON held_marks (school_id, source, record_id);
