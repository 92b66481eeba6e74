-- Where a worker was when they asked for help from the phone page (the browser's position, when they
-- allowed it): fob alarms keep theirs on the fob event.
ALTER TABLE alarms ADD COLUMN location JSONB;
