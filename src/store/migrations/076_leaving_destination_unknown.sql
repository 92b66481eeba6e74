-- The MIS said in so many words that nobody knows where a leaver went (a Destination of "Unknown",
-- "CME", the CTF's lost-pupil MMM/MMMM): the child missing education King's exemption from telling
-- the family rests on by the roll. `left_to` null alone no longer says so: it is null whenever the
-- source reads no destination (Arbor's deleted students, Wonde's leavers), the export has no
-- Destination column or its cell is empty, or the destination was too long to keep. Leavers stored
-- before this have it false (which of those they were cannot be told); the next export that says the
-- destination is unknown sets it.
ALTER TABLE pupils ADD COLUMN left_to_unknown BOOLEAN NOT NULL DEFAULT false;
