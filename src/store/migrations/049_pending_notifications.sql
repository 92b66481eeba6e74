-- The visit watcher looks every 15 s for alarm notifications still pending long after they were made
-- (their job out of tries during an outage, or lost): a partial index keeps that read to the few
-- pending rows, not every notification ever sent.
CREATE INDEX notifications_pending ON notifications (created_at) WHERE status = 'pending';
