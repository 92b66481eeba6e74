/**
 * What the PostgreSQL server itself was doing during a timed phase, beside Doorstep's figures: the
 * write-ahead log written (bytes, full-page images) from `pg_stat_wal`, and whether a checkpoint was
 * being written (the checkpointer's wait event, sampled every 100 ms), and a probe: one bare durable
 * commit every 100 ms on a connection of its own, timed — if the disk stalled during the phase, the
 * probe waited too, in the same seconds as the phase's own writes. After a checkpoint starts,
 * the first change to each page writes the whole page to the log again, so the same commits write
 * more log and wait longer for it: a run's tail can move with the server's five-minute checkpoint
 * timer, not with anything the run did. Cluster-wide: meaningful on a machine with nothing else
 * writing to this server.
 */
import type pg from 'pg';

interface WalStats {
  bytes: number;
  fpi: number;
}

async function walStats(pool: pg.Pool): Promise<WalStats> {
  // Statistics are flushed by each backend about once a second: a phase's figure is exact to that.
  await pool.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
  const { rows } = await pool.query<{ bytes: string; fpi: string }>(
    'SELECT wal_bytes::text AS bytes, wal_fpi::text AS fpi FROM pg_stat_wal',
  );
  return { bytes: Number(rows[0]!.bytes), fpi: Number(rows[0]!.fpi) };
}

export interface ServerActivity {
  /** Write-ahead log written by the whole server during the phase, per item the phase wrote (KB). */
  walKbPerItem: number;
  /** Full-page images written during the phase, per item. */
  fpiPerItem: number;
  /** Share of the phase's 100 ms samples in which a checkpoint was being written (0–1). */
  checkpointing: number;
  /** Share of the samples in which an autovacuum worker was at work (vacuum or analyze; 0–1). */
  autovacuum: number;
  /** The probe's bare commits during the phase (one every 100 ms): the slowest, in ms. */
  probeCommitMaxMs: number;
}

/** Watches the server while `phase` runs; `items` is how many writes the phase made. */
export async function watchServer<T>(
  pool: pg.Pool,
  probeSql: string,
  phase: () => Promise<T>,
  items: (result: T) => number,
): Promise<{ result: T; server: ServerActivity }> {
  const before = await walStats(pool);
  let samples = 0;
  let writing = 0;
  let vacuuming = 0;
  let probeMax = 0;
  let stopped = false;
  const sampler = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      await pool.query(probeSql);
      probeMax = Math.max(probeMax, performance.now() - t0);
      const { rows } = await pool.query<{ w: string | null; av: number }>(
        `SELECT (SELECT wait_event FROM pg_stat_activity WHERE backend_type = 'checkpointer') AS w,
                (SELECT count(*)::int FROM pg_stat_activity
                  WHERE backend_type = 'autovacuum worker' AND state = 'active') AS av`,
      );
      samples++;
      // Between checkpoints the checkpointer waits in CheckpointerMain; writing one, it paces
      // itself in CheckpointWriteDelay (or is in a write or sync, with no wait event or an I/O one).
      if (rows[0] && rows[0].w !== 'CheckpointerMain') writing++;
      if (rows[0] && rows[0].av > 0) vacuuming++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    const result = await phase();
    stopped = true;
    await sampler;
    const after = await walStats(pool);
    const n = Math.max(1, items(result));
    return {
      result,
      server: {
        walKbPerItem: (after.bytes - before.bytes) / 1024 / n,
        fpiPerItem: (after.fpi - before.fpi) / n,
        checkpointing: samples ? writing / samples : 0,
        autovacuum: samples ? vacuuming / samples : 0,
        probeCommitMaxMs: probeMax,
      },
    };
  } finally {
    stopped = true;
  }
}
