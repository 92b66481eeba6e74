-- Trigger evaluation reads every mark of a pupil by the key (school, pupil, date, session) and wants
-- only the code: with the code in the key's index the read is an index-only scan (no visit to the
-- table for pages the visibility map knows are all-visible, which autovacuum keeps so for a table
-- that is mostly inserted into). Rebuilds the key: on a trust's 20M marks this takes tens of seconds
-- with the table locked, once, at upgrade.
ALTER TABLE attendance_marks
  DROP CONSTRAINT attendance_marks_pkey,
  ADD PRIMARY KEY (school_id, pupil_mis_id, date, session) INCLUDE (code);
