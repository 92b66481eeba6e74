-- Term-time leave requests the school refused (recorded with `doorstep leave-refused`): illness
-- reported during such a period is a reason to check (Lime Hills, Heath Lane).
CREATE TABLE leave_refusals (
  id           BIGSERIAL PRIMARY KEY,
  school_id    TEXT COLLATE "C" NOT NULL,
  pupil_mis_id TEXT COLLATE "C" NOT NULL,
  from_date    DATE NOT NULL,
  to_date      DATE NOT NULL CHECK (to_date >= from_date),
  recorded_by  TEXT NOT NULL,
  recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (school_id, pupil_mis_id, from_date, to_date)
);
