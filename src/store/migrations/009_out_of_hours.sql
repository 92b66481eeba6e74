-- A visit the authoriser approved outside the policy's hours (King's Gomer: "working hours only unless approved").
ALTER TABLE visits ADD COLUMN out_of_hours_approved BOOLEAN NOT NULL DEFAULT false;
