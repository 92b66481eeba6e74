-- The escalation step hands its notifications to their channels itself, at once, and claims them for
-- that long: until `claimed_until` their notify jobs (queued as a safety net) leave them alone, so a
-- notification is never sent by both. A failed first attempt releases the claim and its job retries.
ALTER TABLE notifications ADD COLUMN claimed_until TIMESTAMPTZ;
