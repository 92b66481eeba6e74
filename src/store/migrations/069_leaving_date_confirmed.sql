-- A leaving date a person confirmed by hand (`doorstep subject left --yes`, over a doubt: before the
-- last day the pupil attended, or so far back the purge erases them) is kept when the MIS sends a
-- different one: the sync reports the two dates for the data manager to resolve instead of replacing
-- it. Cleared when a person records the date again without confirming, when the MIS sends the same
-- date, and when the MIS has the pupil back on roll (never left off roll against the MIS).
ALTER TABLE pupils ADD COLUMN left_on_confirmed BOOLEAN NOT NULL DEFAULT false;
