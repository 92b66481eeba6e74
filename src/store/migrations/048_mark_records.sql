-- Which of the MIS's own attendance records gave each stored mark, where the MIS names its records
-- (Arbor's AttendanceRecord ids). Arbor's changelog says only "record 123 was deleted": this is how
-- Doorstep finds the session that mark was for and removes it. A session keeps the record that last
-- gave its mark, and the import that stored the mark: deleting a record that a newer one replaced,
-- or whose mark a later import (a file) changed, removes nothing.
CREATE TABLE mark_records (
  school_id    TEXT COLLATE "C" NOT NULL,
  pupil_mis_id TEXT COLLATE "C" NOT NULL,
  date         DATE NOT NULL,
  session      TEXT NOT NULL CHECK (session IN ('AM', 'PM')),
  record_id    TEXT COLLATE "C" NOT NULL,
  import_id    BIGINT NOT NULL,
  PRIMARY KEY (school_id, pupil_mis_id, date, session)
);
CREATE INDEX mark_records_by_record ON mark_records (school_id, record_id);
