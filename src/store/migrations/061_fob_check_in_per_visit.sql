-- A fob check-in counts for every visit its wearer is out on: two visits on one trip (a brother and
-- a sister at one address, each child's own visit) are both checked in by one press. The key was the
-- fob event alone, so the press counted for one of them and the other's clock ran on to a missed
-- check-in. Now one check-in per event and visit.
ALTER TABLE visit_check_ins
  DROP CONSTRAINT visit_check_ins_fob_event_id_key,
  ADD CONSTRAINT visit_check_ins_fob_event_visit_key UNIQUE (fob_event_id, visit_id);
