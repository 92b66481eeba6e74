import type { Queue } from 'bullmq';

/** A queue whose oldest due job has waited past the grace: nothing is taking its jobs. */
export interface OverdueQueue {
  queue: string;
  /** How long its oldest due job has waited (ms). */
  waitedMs: number;
}

/**
 * The first of `queues` whose oldest job has been due for longer than `graceMs` — waiting, or
 * delayed past its time (a delayed job is moved on only by a worker of its queue, so one long past
 * due means none is running) — else null. Four reads per queue, each one job at an end of a list.
 */
export async function overdueQueue(
  queues: readonly Queue[],
  nowMs: number,
  graceMs: number,
): Promise<OverdueQueue | null> {
  for (const queue of queues) {
    // Both ends of each list (which end is oldest differs between a list and a sorted set).
    const ends = await Promise.all([
      queue.getJobs(['wait', 'prioritized'], 0, 0, true),
      queue.getJobs(['wait', 'prioritized'], 0, 0, false),
      queue.getJobs(['delayed'], 0, 0, true),
      queue.getJobs(['delayed'], 0, 0, false),
    ]);
    let due = Number.POSITIVE_INFINITY;
    for (const job of ends.flat()) if (job) due = Math.min(due, job.timestamp + (job.delay ?? 0));
    if (nowMs - due > graceMs) return { queue: queue.name, waitedMs: nowMs - due };
  }
  return null;
}
