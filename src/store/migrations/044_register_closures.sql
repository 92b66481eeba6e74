-- Days an import's register records closed all day ('#', 'Y4' in both sessions) that the school
-- calendar has as school days: the date, its codes, how many marks and pupils say so (no pupil ids),
-- the first 100 kept with the count of all — the calendar misses a closure the trigger rules already
-- honour, and the data manager is told on the data page.
ALTER TABLE imports ADD COLUMN register_closures JSONB NOT NULL DEFAULT '[]';
ALTER TABLE imports ADD COLUMN register_closure_count INTEGER NOT NULL DEFAULT 0;
