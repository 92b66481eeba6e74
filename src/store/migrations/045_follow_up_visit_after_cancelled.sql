-- Thames View 4.3 asks for one follow-up visit per original visit on "continued failure": one that
-- was cancelled no longer stands for it, so a later breach asks for another, linked the same way.
DROP INDEX IF EXISTS visits_one_follow_up_visit;
CREATE UNIQUE INDEX visits_one_follow_up_visit ON visits (follows_visit_id)
  WHERE follows_visit_id IS NOT NULL AND status <> 'cancelled';
-- The old index also served the self-reference (`follows_visit_id … ON DELETE SET NULL`): deleting a
-- visit (retention, erasure) looks up the visits that follow it whatever their status.
CREATE INDEX visits_follows_visit ON visits (follows_visit_id) WHERE follows_visit_id IS NOT NULL;
