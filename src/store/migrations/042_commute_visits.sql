-- A visit made on the way to work (from home) or on the way home from work, and who approved it
-- beforehand (Hampton: "Home visits on the way to work or on the way home from work should not occur
-- without prior approval of the HoS"). Null: from school and back.
ALTER TABLE visits ADD COLUMN commute TEXT CHECK (commute IN ('to-work', 'from-work'));
ALTER TABLE visits ADD COLUMN commute_approved_by BIGINT REFERENCES users (id);
ALTER TABLE visits ADD COLUMN commute_approved_at TIMESTAMPTZ;
