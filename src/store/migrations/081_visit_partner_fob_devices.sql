-- Every device registered to a visit's partner when it left (the school's fobs.devices then) but those
-- another visit out held: the visit watcher counts a partner's press for the visit only from one of
-- these — never by the staff id the registry gives a device now. A fob swapped in the config between
-- the partner and another worker out would else let the other, back safe with it in hand, check the
-- partner's visit in (its missed check-in never raised) and tie his SOS to it.
-- Visits out when this runs keep '{}': the registry is not in the database. Their partner's presses no
-- longer count for them (a missed check-in may be raised though the partner pressed: the worker is
-- called, never left unwatched); the lead's fob, and every visit from its next departure, as before.
ALTER TABLE visits ADD COLUMN partner_fob_device_ids TEXT[] NOT NULL DEFAULT '{}';
