-- Append-only audit trail: who did what, when, with the state before and after.
CREATE TABLE audit_log (
  id          BIGSERIAL PRIMARY KEY,
  at          TIMESTAMPTZ NOT NULL DEFAULT now(),
  actor       TEXT NOT NULL,            -- user id, or system:<component>
  action      TEXT NOT NULL,            -- e.g. alarm.acknowledged, config.loaded, heartbeat
  school_id   TEXT,                     -- NULL for trust-wide actions
  entity_type TEXT,
  entity_id   TEXT,
  before      JSONB,
  after       JSONB
);

CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_school_at_idx ON audit_log (school_id, at);

-- Rows can be added, never changed or removed (TRUNCATE included).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
