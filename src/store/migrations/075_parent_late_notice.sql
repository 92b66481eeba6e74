-- Thames View 3.5 "If the parents/carers have given prior notice that they are running late, the
-- officer must not enter the house until they arrive. If they are over 30 minutes late the visit will
-- be cancelled.": when that notice was recorded on the visit, and by whom (`user:<id>`: one of the
-- people on the visit, or the office who took the call). Null: no notice — 3.4's wait applies.
ALTER TABLE visits ADD COLUMN parent_late_notice_at TIMESTAMPTZ;
ALTER TABLE visits ADD COLUMN parent_late_notice_by TEXT;
