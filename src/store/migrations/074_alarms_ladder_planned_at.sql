-- When the alarm's next step is planned on the ladder's own schedule: set with the step, kept when a
-- failed delivery brings `next_step_at` forward (first round only). The step, when it runs, measures
-- how far ahead of this it is with its own clock; the next round's first level waits that back, so it
-- runs at its planned time, never sooner and never later. NULL: planned for when it runs.
ALTER TABLE alarms ADD COLUMN ladder_planned_at TIMESTAMPTZ;
