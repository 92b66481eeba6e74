-- A missed check-in a person resolved restarts the check-in clock, kept as its own source
-- ('resolution', with who resolved it) — not as a check-in the office recorded after speaking to the
-- worker ('office'), which counts as someone else confirming them (the running-late bound). Those
-- written before, with no user, become what they were.
ALTER TABLE visit_check_ins DROP CONSTRAINT visit_check_ins_source_check;
ALTER TABLE visit_check_ins ADD CONSTRAINT visit_check_ins_source_check
  CHECK (source IN ('phone', 'fob', 'office', 'resolution'));
UPDATE visit_check_ins SET source = 'resolution' WHERE source = 'office' AND by_user_id IS NULL;

-- A new return time set by a person ('set': running late, "I am still out"), or by the watch going on
-- after a person resolved an overdue alarm ('resolution': expected back within 15 minutes), which
-- confirms nobody by itself.
ALTER TABLE visit_return_changes ADD COLUMN source TEXT NOT NULL DEFAULT 'set'
  CHECK (source IN ('set', 'resolution'));
