-- The visit watcher looks every 15 s for fob check-ins of the last day: an index keeps that scan
-- off the alarm path's tables as they grow.
CREATE INDEX fob_events_check_ins ON fob_events (school_id, received_at) WHERE type = 'check_in';
