-- A notification whose alarm a person took (on a ladder that stops when taken) or resolved before it
-- could be sent — a retry after a passing failure, a send the watcher found stranded — is withdrawn,
-- never sent: nobody is paged about an alarm already in hand.
ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
  CHECK (status IN ('pending', 'sent', 'failed', 'withdrawn'));
