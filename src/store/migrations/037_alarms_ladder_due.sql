-- The visit watcher looks every 15 s for ladders whose step is overdue (`stalledLadders`): only
-- unresolved alarms still in their ladder, by when their step fell due.
CREATE INDEX alarms_ladder_due ON alarms ((COALESCE(next_step_at, created_at)))
  WHERE status <> 'resolved' AND escalation_step >= 0;
