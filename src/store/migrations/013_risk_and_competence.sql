-- Risk as a decision with an owner: who assessed the level (an assessor the pack names), when, and
-- why. Until assessed, the level is the requester's proposal.
ALTER TABLE visits ADD COLUMN risk_assessed_by TEXT;
ALTER TABLE visits ADD COLUMN risk_assessed_at TIMESTAMPTZ;
ALTER TABLE visits ADD COLUMN risk_reason TEXT;

-- Staff training records, for the packs that require them before a home visit.
ALTER TABLE users ADD COLUMN home_visit_trained_on DATE;
ALTER TABLE users ADD COLUMN safeguarding_trained_on DATE;
