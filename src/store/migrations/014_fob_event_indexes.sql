-- Every fob event paid for an index nothing reads: lookups by device go through the identity
-- constraint (school_id, device_id, vendor_event_id, content_hash), the watcher through
-- fob_events_check_ins. One index fewer per event on the alarm path (a location or battery report
-- now writes its row into two indexes: the primary key and the identity).
DROP INDEX IF EXISTS fob_events_device_time;
