-- An audit that can forget. The entries — who, what, when, which school, which entity — stay in an
-- append-only table (audit_entries, the former audit_log table with its triggers); the before/after
-- values, which carry personal data, move to audit_details, which retention and erasure can delete.
-- `audit_log` becomes a view over both, so every reader and writer keeps using it: an INSERT into
-- it writes the entry and its details; an UPDATE or DELETE through it is refused like before.
-- (The values of the dropped columns stay in the table's old pages until they are rewritten: run
-- `VACUUM FULL audit_entries` once after this migration to remove them physically.)
ALTER TABLE audit_log RENAME TO audit_entries;

CREATE TABLE audit_details (
  audit_id  BIGINT PRIMARY KEY REFERENCES audit_entries (id),
  school_id TEXT,
  at        TIMESTAMPTZ NOT NULL,
  before    JSONB,
  after     JSONB
);
CREATE INDEX audit_details_at ON audit_details (at);

INSERT INTO audit_details (audit_id, school_id, at, before, after)
  SELECT id, school_id, at, before, after FROM audit_entries WHERE before IS NOT NULL OR after IS NOT NULL;
ALTER TABLE audit_entries DROP COLUMN before, DROP COLUMN after;

CREATE VIEW audit_log AS
  SELECT e.id, e.at, e.actor, e.action, e.school_id, e.entity_type, e.entity_id, d.before, d.after
  FROM audit_entries e LEFT JOIN audit_details d ON d.audit_id = e.id;

CREATE FUNCTION audit_log_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_entries (at, actor, action, school_id, entity_type, entity_id)
    VALUES (COALESCE(NEW.at, now()), NEW.actor, NEW.action, NEW.school_id, NEW.entity_type, NEW.entity_id)
    RETURNING id, at INTO NEW.id, NEW.at;
  IF NEW.before IS NOT NULL OR NEW.after IS NOT NULL THEN
    INSERT INTO audit_details (audit_id, school_id, at, before, after)
      VALUES (NEW.id, NEW.school_id, NEW.at, NEW.before, NEW.after);
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_insert INSTEAD OF INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_insert();
CREATE TRIGGER audit_log_no_update_delete INSTEAD OF UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Minimisation: a pupil who left (the date recorded with `doorstep subject left`, or by a connector
-- that knows it) is hidden from the board and the pupil search once the school's chosen period has
-- passed (hidden_at, set by the purge job), and their details are erased later still.
ALTER TABLE pupils ADD COLUMN left_on DATE;
ALTER TABLE pupils ADD COLUMN hidden_at TIMESTAMPTZ;
CREATE INDEX pupils_leavers ON pupils (school_id, left_on) WHERE left_on IS NOT NULL;

-- What each purge run removed (counts only, per kind of data), for the data page and /metrics.
CREATE TABLE purge_runs (
  id          BIGSERIAL PRIMARY KEY,
  school_id   TEXT NOT NULL,
  started_at  TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ,
  removed     JSONB NOT NULL DEFAULT '{}',   -- {kind: rows}
  complete    BOOLEAN NOT NULL DEFAULT false, -- false: stopped at the per-run bound; the next run goes on
  error       TEXT
);
CREATE INDEX purge_runs_school ON purge_runs (school_id, id);
