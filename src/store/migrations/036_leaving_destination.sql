-- Where a pupil who left the roll went, when the MIS says (a file export's destination column):
-- the evidence of the children-missing-education check a pack may raise for a leaver.
ALTER TABLE pupils ADD COLUMN left_to TEXT;
