-- Which school's channels sent an alarm's notification when it was not the alarm's own: an alarm of a
-- school the config no longer held when it was sent (removed, or its id renamed) goes out through the
-- `trust.orphansTo` school's channels — its number, its token's reply codes, its call callbacks — and
-- the answers (an SMS reply, a keypress, the provider's delivery reports) come back on that school's
-- routes. They find the alarm by this, whatever the config says by then: put the school back (as every
-- warning says to) and the answers to the texts and calls already sent still reach it. Empty: only the
-- alarm's own school's channels (every alarm of a configured school). A school a time: a retry after
-- the config changed may send through another.
ALTER TABLE notifications ADD COLUMN via_schools TEXT[] NOT NULL DEFAULT '{}';
-- The answers' lookups start from these rows (few: only alarms of a school no longer configured).
CREATE INDEX notifications_via_schools ON notifications (alarm_id) WHERE via_schools <> '{}';
