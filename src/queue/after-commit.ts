import { retryClassOf } from '../errors.ts';

/**
 * Queues, after a commit, work that a relay also finds on its own (the outbox relay every few
 * seconds; notices never tried): now, to be quick — but never failing the change already saved when
 * the queue is away (Redis down: the relay queues it within seconds of its return). A queue that was
 * away once made the page say "failed" of a concern that was recorded, and each press again wrote
 * another record and notice. What no relay will put right (a payload the catalog refuses: a bug) is
 * thrown.
 */
export async function queueAfterCommit(enqueue: () => Promise<unknown> | undefined): Promise<void> {
  try {
    await enqueue();
  } catch (err) {
    if (retryClassOf(err) !== 'transient') throw err;
  }
}
