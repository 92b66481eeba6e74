-- Attendance marks stored a month per row: one row per school × pupil × calendar month, each
-- column an array of the month's 62 sessions (slot (day - 1) * 2 + 1 is the morning, + 2 the
-- afternoon; NULL where there is no mark). A school year of 2,000 pupils is 22,000 rows instead of
-- 760,000: an import writes and logs a twentieth of what a row per mark cost (the write-ahead log it
-- adds is what every other commit — an alarm's — waits behind), the nightly evaluation reads a
-- twentieth of the rows, and the key is a twentieth of the size.
--
-- `attendance_marks` stays, as a view with a row per mark (the columns it always had), so every
-- reader is unchanged; writing through it (INSERT, UPDATE, DELETE) works row by row for the few
-- that do — the import, retention and erasure write the months directly.
CREATE TABLE attendance_months (
  school_id    TEXT COLLATE "C" NOT NULL,
  pupil_mis_id TEXT COLLATE "C" NOT NULL,
  month        DATE NOT NULL CHECK (extract(day FROM month) = 1),
  codes        TEXT[] NOT NULL CHECK (array_lower(codes, 1) = 1 AND array_upper(codes, 1) = 62),
  categories   TEXT[] NOT NULL CHECK (array_lower(categories, 1) = 1 AND array_upper(categories, 1) = 62),
  local_codes  TEXT[] NOT NULL CHECK (array_lower(local_codes, 1) = 1 AND array_upper(local_codes, 1) = 62),
  minutes_late INTEGER[] NOT NULL CHECK (array_lower(minutes_late, 1) = 1 AND array_upper(minutes_late, 1) = 62),
  import_ids   BIGINT[] NOT NULL CHECK (array_lower(import_ids, 1) = 1 AND array_upper(import_ids, 1) = 62),
  updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (school_id, pupil_mis_id, month)
);

-- A session's place in its month's arrays.
CREATE FUNCTION attendance_slot(d DATE, session TEXT) RETURNS INTEGER
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (extract(day FROM d)::int - 1) * 2 + CASE session WHEN 'PM' THEN 2 ELSE 1 END;

INSERT INTO attendance_months (school_id, pupil_mis_id, month, codes, categories, local_codes, minutes_late,
                               import_ids, updated_at)
SELECT k.school_id, k.pupil_mis_id, k.month,
       array_agg(m.code ORDER BY s.i), array_agg(m.category ORDER BY s.i), array_agg(m.local_code ORDER BY s.i),
       array_agg(m.minutes_late ORDER BY s.i), array_agg(m.import_id ORDER BY s.i),
       COALESCE(max(m.updated_at), now())
FROM (SELECT DISTINCT school_id, pupil_mis_id, date_trunc('month', date)::date AS month FROM attendance_marks) k
CROSS JOIN generate_series(1, 62) AS s(i)
LEFT JOIN attendance_marks m
  ON m.school_id = k.school_id AND m.pupil_mis_id = k.pupil_mis_id
 AND date_trunc('month', m.date)::date = k.month AND attendance_slot(m.date, m.session) = s.i
GROUP BY k.school_id, k.pupil_mis_id, k.month;

DROP TABLE attendance_marks;

CREATE VIEW attendance_marks AS
SELECT m.school_id, m.pupil_mis_id,
       (m.month + (s.i - 1) / 2) AS date,
       (CASE WHEN s.i % 2 = 1 THEN 'AM' ELSE 'PM' END)::text COLLATE "C" AS session,
       m.codes[s.i] AS code, m.categories[s.i] AS category, m.local_codes[s.i] AS local_code,
       m.minutes_late[s.i] AS minutes_late, m.import_ids[s.i] AS import_id, m.updated_at
FROM attendance_months m
CROSS JOIN LATERAL generate_series(1, 62) AS s(i)
WHERE m.codes[s.i] IS NOT NULL;

-- Writing through the view: a mark at a time, with the table's old rules (a session has one mark:
-- inserting one it has is a unique violation; the session and category are checked).
CREATE FUNCTION attendance_marks_write() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  slot INTEGER;
  empty_text TEXT[] := array_fill(NULL::text, ARRAY[62]);
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    slot := attendance_slot(OLD.date, OLD.session);
    UPDATE attendance_months SET codes[slot] = NULL, categories[slot] = NULL, local_codes[slot] = NULL,
                                 minutes_late[slot] = NULL, import_ids[slot] = NULL, updated_at = now()
    WHERE school_id = OLD.school_id AND pupil_mis_id = OLD.pupil_mis_id
      AND month = date_trunc('month', OLD.date)::date;
    DELETE FROM attendance_months
    WHERE school_id = OLD.school_id AND pupil_mis_id = OLD.pupil_mis_id
      AND month = date_trunc('month', OLD.date)::date
      AND NOT EXISTS (SELECT 1 FROM unnest(codes) c WHERE c IS NOT NULL);
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
  END IF;
  IF NEW.session IS NULL OR NEW.session NOT IN ('AM', 'PM') THEN
    RAISE EXCEPTION 'attendance mark: session must be AM or PM' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.code IS NULL OR NEW.category IS NULL OR NEW.import_id IS NULL
     OR NEW.school_id IS NULL OR NEW.pupil_mis_id IS NULL OR NEW.date IS NULL THEN
    RAISE EXCEPTION 'attendance mark: a value is missing' USING ERRCODE = 'not_null_violation';
  END IF;
  IF NEW.category NOT IN ('present', 'approved_activity', 'authorised_absence', 'unauthorised_absence',
                          'not_possible') THEN
    RAISE EXCEPTION 'attendance mark: unknown category' USING ERRCODE = 'check_violation';
  END IF;
  slot := attendance_slot(NEW.date, NEW.session);
  INSERT INTO attendance_months AS m (school_id, pupil_mis_id, month, codes, categories, local_codes,
                                      minutes_late, import_ids)
  VALUES (NEW.school_id, NEW.pupil_mis_id, date_trunc('month', NEW.date)::date, empty_text, empty_text,
          empty_text, array_fill(NULL::int, ARRAY[62]), array_fill(NULL::bigint, ARRAY[62]))
  ON CONFLICT (school_id, pupil_mis_id, month) DO NOTHING;
  UPDATE attendance_months SET codes[slot] = NEW.code, categories[slot] = NEW.category,
                               local_codes[slot] = NEW.local_code, minutes_late[slot] = NEW.minutes_late,
                               import_ids[slot] = NEW.import_id, updated_at = now()
  WHERE school_id = NEW.school_id AND pupil_mis_id = NEW.pupil_mis_id
    AND month = date_trunc('month', NEW.date)::date AND codes[slot] IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'attendance mark: the session already has a mark' USING ERRCODE = 'unique_violation';
  END IF;
  RETURN NEW;
END
$fn$;

CREATE TRIGGER attendance_marks_write INSTEAD OF INSERT OR UPDATE OR DELETE ON attendance_marks
FOR EACH ROW EXECUTE FUNCTION attendance_marks_write();
