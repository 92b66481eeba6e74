-- When an import's trigger evaluation was first handed over again by a sync (its job used all its
-- tries, or was lost with Redis), and when it was given up. The 24 h of hand-overs are counted from the
-- first of these, not from the import: a sync only runs with the queue there, so an import applied
-- while the queue was away a whole day still gets its full day of tries once the queue is back.
-- Given up: no sync hands it over again, its chunks evaluated so far are kept (a job still running
-- that finishes counts), and the data page says so while any chunk is not evaluated.
ALTER TABLE imports ADD COLUMN evaluation_retried_from TIMESTAMPTZ;
ALTER TABLE imports ADD COLUMN evaluation_given_up_at TIMESTAMPTZ;
CREATE INDEX imports_evaluation_given_up_idx ON imports (school_id, evaluation_given_up_at)
  WHERE evaluation_given_up_at IS NOT NULL;
