-- When the alarm's next step is planned on the ladder's own schedule: set with the step, kept when a
-- failed delivery brings `next_step_at` forward (first round only). The step, when it runs, measures
-- how far ahead of this it is with its own clock; the next round's first level waits that back, so it
-- runs at its planned time, never sooner and never later. NULL: planned for when it runs.
ALTER TABLE alarms ADD COLUMN ladder_planned_at TIMESTAMPTZ;
-- An alarm whose ladder runs as this is applied: its next step was planned for when it is due (a
-- step the code before brought forward aside), so a failure now measures its lead from there and the
-- next round is not pulled forward by a NULL read as no lead.
UPDATE alarms SET ladder_planned_at = next_step_at
 WHERE escalation_step >= 0 AND next_step_at IS NOT NULL AND status <> 'resolved';
