-- A notification that goes to several people (an SMS to each phone in a group) is sent to each once:
-- a retry after a failure part-way skips the recipients already sent to.
CREATE TABLE notification_recipients (
  notification_id BIGINT NOT NULL REFERENCES notifications (id),
  -- A hash of the notification id and the recipient (a phone number is not stored here).
  recipient_key   TEXT NOT NULL,
  receipt         TEXT NOT NULL,
  sent_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (notification_id, recipient_key)
);
