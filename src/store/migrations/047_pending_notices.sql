-- The relay reads the notices still pending every few seconds (never tried; tried and stuck; stuck a
-- day): a partial index keeps those reads to the few pending rows, not a scan of every notice ever
-- written, on the server the alarm path commits to.
CREATE INDEX notices_pending ON notices (created_at) WHERE status = 'pending';
