-- Whether the MIS records a contact as holding parental responsibility (Arbor: the guardian
-- relationship's isLegalGuardian; SIMS/CSV reports do not say, so NULL). The visit form lists
-- these contacts first: some policies allow speaking only with adults who hold it.
ALTER TABLE pupil_contacts ADD COLUMN parental_responsibility BOOLEAN;

-- Flags the safeguarding team sets by hand in Doorstep, kept apart from the MIS's `flags` (which an
-- import replaces): {"welfareConcern": {"reason": …, "by": "user:<id>", "at": <ISO time>}}. Trigger
-- rules read both; each set and clear is audited with its reason.
ALTER TABLE pupils ADD COLUMN manual_flags JSONB NOT NULL DEFAULT '{}';
