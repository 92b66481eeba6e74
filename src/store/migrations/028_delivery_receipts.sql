-- What the SMS provider later reports of each message it was given (its status callback): delivered,
-- or not (undelivered / failed, with the provider's error code). Looked up by the provider's message
-- id, which is the recipient's receipt. An undelivered message moves its alarm to the next level.
ALTER TABLE notification_recipients ADD COLUMN delivery TEXT
  CHECK (delivery IN ('delivered', 'undelivered', 'failed'));
ALTER TABLE notification_recipients ADD COLUMN delivery_error TEXT;
ALTER TABLE notification_recipients ADD COLUMN delivery_at TIMESTAMPTZ;
CREATE INDEX notification_recipients_receipt ON notification_recipients (receipt);
