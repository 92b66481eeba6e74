-- Replies to alarm SMS (acknowledge or "worker safe" from a phone): each provider message once, so
-- a replay changes nothing. The sender's number is kept only as a keyed hash.
CREATE TABLE sms_replies (
  message_sid  TEXT PRIMARY KEY,
  school_id    TEXT NOT NULL,
  received_at  TIMESTAMPTZ NOT NULL,
  sender_hash  TEXT NOT NULL,
  outcome      TEXT NOT NULL,
  alarm_id     BIGINT REFERENCES alarms (id),
  user_id      BIGINT REFERENCES users (id)
);
CREATE INDEX sms_replies_school ON sms_replies (school_id, received_at);

-- How an alarm was taken (board, cli, sms): the board says "taken by … (SMS)".
ALTER TABLE alarms ADD COLUMN acknowledged_via TEXT;
