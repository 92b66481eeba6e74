-- How long before its place on the ladder's own schedule an alarm's next step is due: a failed
-- delivery brought a step of the first round forward (the people not yet asked are hastened). The
-- next round's first step waits it back, so a repeat runs at its planned time, never sooner.
ALTER TABLE alarms ADD COLUMN ladder_ahead_ms DOUBLE PRECISION NOT NULL DEFAULT 0;
