-- Whether the MIS records a contact as holding parental responsibility (Arbor: the guardian
-- relationship's isLegalGuardian; SIMS/CSV reports do not say, so NULL). The visit form lists
-- these contacts first: some policies allow speaking only with adults who hold it.
ALTER TABLE pupil_contacts ADD COLUMN parental_responsibility BOOLEAN;
