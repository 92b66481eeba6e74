-- A member of staff recorded as experienced in home visits (visits made before Doorstep, or at
-- another school): Heath Lane's "attend first home visit accompanied by experienced member of staff"
-- counts them as experienced, as it does those who have made a home visit in Doorstep. The date is
-- when it was recorded; who recorded it is in the audit log (`user.training-recorded`).
ALTER TABLE users ADD COLUMN home_visit_experienced_on DATE;
