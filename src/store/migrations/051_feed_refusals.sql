-- A feed whose every message is refused (a webhook secret rotated on one side only, a vendor's new
-- format, a clock out by minutes) looked live: its messages arrived, none became an alarm, and the
-- board said every feed was arriving. Messages refused since the last one taken are counted per feed;
-- from a few on, the data page says the feed refuses everything, with the last reason.
ALTER TABLE ingest_status ADD COLUMN last_taken_at TIMESTAMPTZ;
ALTER TABLE ingest_status ADD COLUMN refused_since_taken INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ingest_status ADD COLUMN first_refused_at TIMESTAMPTZ;
ALTER TABLE ingest_status ADD COLUMN last_refused_reason TEXT;
