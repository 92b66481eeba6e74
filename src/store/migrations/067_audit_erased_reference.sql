-- Erasure takes a pupil's id out of the audit entries about them: the entries stay (who did what,
-- when), referring to the pupil by an erasure reference (`erased:<uuid>`, the same in each of their
-- entries and the erasure's own) instead of the id, which for a CTF school is the UPN. The entries
-- stay append-only otherwise: an UPDATE is refused unless it only replaces `entity_id` with an
-- erasure reference, inside an erasure (the transaction-local `doorstep.erasing` set to on).
CREATE FUNCTION audit_entries_erased_reference() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('doorstep.erasing', true) = 'on'
     AND NEW.entity_id LIKE 'erased:%'
     AND to_jsonb(NEW) - 'entity_id' = to_jsonb(OLD) - 'entity_id' THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER audit_log_no_update_delete ON audit_entries;
CREATE TRIGGER audit_entries_no_delete
  BEFORE DELETE ON audit_entries
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_entries_no_update
  BEFORE UPDATE ON audit_entries
  FOR EACH ROW EXECUTE FUNCTION audit_entries_erased_reference();
