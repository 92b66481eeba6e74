-- Which of an import's evaluation chunks (`EVALUATION_CHUNK` changed pupils each, 0 first) have been
-- evaluated. Handing an import over (`evaluation_enqueued_at`) is not evaluating it: a job that used
-- all its tries (the database away for minutes) left the import handed over and its pupils never
-- evaluated until the nightly run. A sync hands over again every chunk not evaluated.
-- NULL: handed over before this was kept (taken as evaluated), or not handed over yet.
ALTER TABLE imports ADD COLUMN evaluated_chunks JSONB;
CREATE INDEX imports_unevaluated_idx ON imports (school_id)
  WHERE status = 'applied' AND evaluated_chunks IS NOT NULL AND evaluation_enqueued_at IS NOT NULL;
