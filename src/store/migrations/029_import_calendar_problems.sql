-- Marks stored on days the school's calendar says it did not meet (INSET, holiday, before term…):
-- how many, and the first 1,000 as {where, pupil, date, session, code, closed, note} (ids and
-- positions only). The marks themselves are kept; the data manager decides whether the calendar or
-- the MIS is wrong.
ALTER TABLE imports
  ADD COLUMN calendar_problem_count INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN calendar_problems JSONB NOT NULL DEFAULT '[]';
