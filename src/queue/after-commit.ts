/**
 * Queues, after a commit, work that a relay also finds on its own (the outbox relay every few
 * seconds; notices never tried): now, to be quick — but never failing the change already saved. A
 * queue that is away (Redis down) once made the page say "failed" of a concern that was recorded,
 * and each press again wrote another record and notice.
 */
export async function queueAfterCommit(enqueue: () => Promise<unknown> | undefined): Promise<void> {
  try {
    await enqueue();
  } catch {
    // The relay queues it within seconds of the queue being back.
  }
}
