-- One row whose update is a commit with log of its own. A commit that wrote no log is not flushed, so
-- updating this row is how a process has the server flush everything logged up to now — an import's
-- still-open transaction included (src/store/wal-flush.ts).
CREATE TABLE wal_flush (
  id smallint PRIMARY KEY CHECK (id = 1),
  at timestamptz NOT NULL
);
INSERT INTO wal_flush (id, at) VALUES (1, now());
