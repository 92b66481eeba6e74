-- The estimated arrival time the worker tells the office when leaving (King's Gomer: "Staff must
-- inform the school office of their estimated arrival and departure times"). Null: not given.
ALTER TABLE visits ADD COLUMN estimated_arrival_at TIMESTAMPTZ;
