-- A visit's fob battery (the board's visit card, the worker's phone page) is the device's latest
-- battery report since the worker left. Without an index of its own it read every event the device
-- sent in the retention window (a heartbeat every 30 s is ~260,000 rows in 90 days) through the
-- identity constraint, for every visit out, on every board load. Partial: only events that carry a
-- battery level or are a low-battery report pay for it (an SOS without a level does not).
CREATE INDEX fob_events_battery ON fob_events (school_id, device_id, received_at DESC)
  WHERE battery_percent IS NOT NULL OR type = 'low_battery';
