-- A delivery's claim on its record: set (guarded) before the record is sent, cleared with the
-- verdict. While it runs no other delivery of the record starts — a job handed back at shutdown and
-- taken at once by another worker, or a stalled-lock redelivery while the first still runs — so a
-- sink that keeps no idempotency key (Arbor) is never sent the record twice at once. Kept past a
-- delivery stopped mid-request (its request may still land) until it runs out: longer than a
-- delivery job may run.
ALTER TABLE outbox ADD COLUMN delivering_until TIMESTAMPTZ;
