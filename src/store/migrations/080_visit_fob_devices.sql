-- Every device registered to a visit's lead when it left (the school's fobs.devices then), not only
-- the fob it is recorded as holding (fob_device_id, the first of them): the config gives one staff
-- id several devices (a spare fob, an app), and the second's check-ins and SOS count for the visit.
-- Where no visit out holds a device, the visit watcher's staff-id fallback counts its event for a
-- lead only if the visit left with no fob or the device is one of these — never a device the registry
-- gave the lead while the visit was out: a fob swapped in the config between two workers out (Ann's
-- FOB-1 and Bob's FOB-2 given each other's) would else let Bob, back safe with FOB-2 in his hand,
-- check Ann in (her missed check-in never raised) and tie his SOS to her visit.
-- Never a device another visit out held at the departure (its wearer may come back still holding it).
ALTER TABLE visits ADD COLUMN fob_device_ids TEXT[] NOT NULL DEFAULT '{}';
-- Visits that left before: the fob they left with (a second device counts again from their next departure).
UPDATE visits SET fob_device_ids = ARRAY[fob_device_id] WHERE fob_device_id IS NOT NULL;
