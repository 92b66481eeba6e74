import type { Db } from './db.ts';

/**
 * Has PostgreSQL flush its write-ahead log up to now, on a connection of the pool (not the caller's
 * transaction): a durable commit flushes every log record written before its own, so the log that an
 * import's open transaction has written so far reaches the disk now, at the import's cost. Left to
 * the server, that log waits for the WAL writer (every `wal_writer_delay`, 200 ms, or each 1 MB) and
 * the next commit anyone makes flushes it instead — an alarm's, which then waits for the import's log.
 * The update changes a row, so its commit is logged and flushed (a commit that wrote no log is not).
 * PGlite (one connection, in the process, nobody else's commits to spare): nothing to do.
 */
export async function flushWalNow(db: Db): Promise<void> {
  if (db.backend !== 'postgres') return;
  await db.query('UPDATE wal_flush SET at = now() WHERE id = 1');
}
