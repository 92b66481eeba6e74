-- Whole-school closures ('#', 'Y4') an import's register records on days the school calendar has the
-- school open: each day, session and code with how many marks say so (no pupil ids) — the calendar
-- misses a closure the trigger rules already honour, and the data manager is told on the data page.
ALTER TABLE imports ADD COLUMN register_closures JSONB NOT NULL DEFAULT '[]';
