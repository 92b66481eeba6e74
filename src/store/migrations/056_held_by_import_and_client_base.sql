-- A held mark remembers the import that held it: a mark for its session written by a later import
-- (a file's correction, another source) is newer, and the held one is never applied over it.
ALTER TABLE held_marks ADD COLUMN import_id BIGINT;
-- Held before dates beyond the next academic year were refused (2099): never applicable.
DELETE FROM held_marks WHERE date > now() + interval '2 years';

-- The client id a feed is configured with, before any instance's suffix: a session under another base
-- is one whose `clientId` was edited (shortened to a prefix of the old one, too), never read again.
ALTER TABLE mqtt_sessions ADD COLUMN client_base TEXT;
