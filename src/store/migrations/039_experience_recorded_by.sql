-- Who recorded a person as experienced in home visits. Heath Lane's "attend first home visit
-- accompanied by experienced member of staff": experience recorded by someone going on the visit does
-- not count for it (a newcomer who may record training could otherwise certify their own partner and
-- go out with no experienced person at all). Null: recorded from the command line, or before this.
ALTER TABLE users ADD COLUMN home_visit_experience_recorded_by BIGINT;
