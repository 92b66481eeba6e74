-- Erasure takes a pupil's id out of the audit entries about them: the entries stay (who did what,
-- when), referring to the pupil by an erasure reference (`erased:<uuid>`, the same in each of their
-- entries and the erasure's own) instead of the id, which for a CTF school is the UPN. The entries
-- stay append-only otherwise: an UPDATE is refused unless it is the erasure's own, inside an erasure
-- (the transaction-local `doorstep.erasing` set to on): only of an entry about a pupil or one of their
-- marks not already erased, only its `entity_id`, and only to an erasure reference — a pupil's
-- `erased:<uuid>`, a mark's `erased:<uuid>/<date>/<session>` keeping the date and session it had.
CREATE FUNCTION audit_entries_erased_reference() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  reference CONSTANT text := '^erased:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
  kept text := substr(NEW.entity_id, 44);
BEGIN
  IF current_setting('doorstep.erasing', true) = 'on'
     AND OLD.entity_id NOT LIKE 'erased:%'
     AND to_jsonb(NEW) - 'entity_id' = to_jsonb(OLD) - 'entity_id'
     AND ((OLD.entity_type = 'pupil' AND NEW.entity_id ~ (reference || '$'))
       OR (OLD.entity_type = 'attendance_mark'
           AND NEW.entity_id ~ (reference || '/[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+$')
           AND length(OLD.entity_id) > length(kept)
           AND right(OLD.entity_id, length(kept)) = kept)) THEN
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
