-- How the family was told of a visit before it (a letter, a phone call, a text, in person, a written
-- confirmation of the appointment), or the exemption that applies (King's: persistent absence /
-- missing education), with who recorded it and when.
ALTER TABLE visits ADD COLUMN family_notice JSONB;
