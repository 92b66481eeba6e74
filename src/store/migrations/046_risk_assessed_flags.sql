-- The address flags a risk assessment was made with (Thames View 2.5 "If a particular home visit
-- poses new risks, the risk assessment will be amended before the visit"): a flag not among them is
-- a new risk, whenever it was stamped — one recorded while the assessor had the page open, or whose
-- transaction had not committed when the assessment was written, was never weighed. NULL: assessed
-- before this was kept (the flags' own times then decide).
ALTER TABLE visits ADD COLUMN risk_assessed_flags bigint[];
