-- A trigger's actions recorded done, one row each: an episode whose recommendation rises (a phone call
-- on day 1, a home visit by day 3 — the same episode, its action updated) keeps the call it had, and
-- its new action waits on the board until done in its turn. (057 kept one action on the episode
-- itself: a call recorded hid the visit the episode rose to, and the page called the call a visit.)
CREATE TABLE trigger_actions (
  id           BIGSERIAL PRIMARY KEY,
  school_id    TEXT COLLATE "C" NOT NULL,
  episode_id   BIGINT NOT NULL REFERENCES trigger_episodes (id) ON DELETE CASCADE,
  pupil_mis_id TEXT COLLATE "C" NOT NULL,
  action       TEXT NOT NULL,
  done_on      DATE NOT NULL,
  done_by      TEXT NOT NULL,
  note         TEXT NOT NULL,
  recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (episode_id, action)
);
CREATE INDEX trigger_actions_pupil ON trigger_actions (school_id, pupil_mis_id);

INSERT INTO trigger_actions (school_id, episode_id, pupil_mis_id, action, done_on, done_by, note, recorded_at)
  SELECT school_id, id, pupil_mis_id, action, action_done_on, action_done_by, coalesce(action_note, ''),
         coalesce(action_recorded_at, now())
  FROM trigger_episodes WHERE action_done_on IS NOT NULL;

ALTER TABLE trigger_episodes DROP COLUMN action_done_on;
ALTER TABLE trigger_episodes DROP COLUMN action_done_by;
ALTER TABLE trigger_episodes DROP COLUMN action_note;
ALTER TABLE trigger_episodes DROP COLUMN action_recorded_at;
