-- Outward idempotency keys were made of this database's serial ids (visit-outcome:<school>:<visit id>):
-- a second install (a store begun afresh, the embedded store replaced by PostgreSQL without its rows)
-- makes the same keys again, and CPOMS (answering 409) or Arbor (the key's marker in a note it holds)
-- took a new record for one already delivered: lost, and said delivered. Each install has its own id,
-- and every record written from now on carries it in its outward key; those written before keep the
-- key they were (perhaps) already sent with, so a retry of one the sink holds still matches it.
CREATE TABLE install (
  one        BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
  id         TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO install (id) VALUES (substr(replace(gen_random_uuid()::text, '-', ''), 1, 16));
ALTER TABLE outbox ADD COLUMN install_scoped BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE outbox ALTER COLUMN install_scoped SET DEFAULT true;
