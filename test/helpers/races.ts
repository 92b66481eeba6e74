import type { Db, Queryable } from '../../src/store/db.ts';
import { until } from './wait.ts';

/**
 * Two (or more) requests made at the same moment, made to meet for certain: `hold` takes a lock in a
 * transaction of its own; `run` starts the requests; once `waiting` of them are seen waiting on a
 * lock in the server (pg_stat_activity, whose query matches one of `like` — seen, never slept for),
 * the lock is let go. Returns what the requests settled to.
 */
export async function raceBehindLock<T>(
  db: Db,
  hold: (tx: Queryable) => Promise<unknown>,
  run: () => Promise<T>[],
  waiting: { like: readonly string[]; count?: number },
): Promise<PromiseSettledResult<T>[]> {
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => {
    locked = r;
  });
  const holder = db.transaction(async (tx) => {
    await hold(tx);
    locked();
    await held;
  });
  await isLocked;
  const all = Promise.allSettled(run());
  await until(
    async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ANY($1::text[])`,
        [waiting.like],
      );
      return rows[0]!.n >= (waiting.count ?? 2);
    },
    30_000,
    'the requests to wait on the lock',
  );
  release();
  await holder;
  return all;
}
