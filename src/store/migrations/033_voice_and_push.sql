-- A ladder call (`call:<group>`): the callee pressed 1 during the call whose id is this recipient's
-- receipt. Kept once, so a replayed keypress callback does nothing.
ALTER TABLE notification_recipients ADD COLUMN keypress_at TIMESTAMPTZ;

-- Web Push: a signed-in office or safeguarding account that opted in on the board, one row per
-- browser. The endpoint is the push service's URL for that browser (a capability: kept, never shown
-- or logged); p256dh and auth are the browser's keys the message is encrypted to. The VAPID public
-- key it was made with is kept, so a school whose keys changed does not push to it.
CREATE TABLE push_subscriptions (
  id               BIGSERIAL PRIMARY KEY,
  user_id          BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  endpoint         TEXT NOT NULL UNIQUE,
  p256dh           TEXT NOT NULL,
  auth             TEXT NOT NULL,
  vapid_public_key TEXT NOT NULL,
  created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_sent_at     TIMESTAMPTZ
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);
