/**
 * How long past its time a ladder's step may be before the ladder counts as stalled: well beyond the
 * step's job's own retries and a busy queue's wait, so a step that is merely late is not called
 * stalled. The visit watcher (jobs/watch-visits.ts) queues such a step again after it, and the board
 * flags its card.
 */
export const LADDER_STALLED_AFTER_MS = 120_000;

/**
 * The ladder should have moved and did not: the alarm is not resolved, its ladder runs (not paused),
 * and its next step fell due more than `graceMs` before `now` — at its first step, never taken, it was
 * written that long ago. The rule of `stalledLadders` (src/store/alarm-state.ts), for one alarm the
 * board already holds. Pure.
 *
 * The watcher takes such a step again; the board says so on the card all the same, for while the
 * watcher itself is not running (Redis away, the ingest process down or wedged) no one is paged and
 * the office must phone the people itself.
 */
export function ladderStalled(
  alarm: { status: string; step: number; nextStepAt: Date | null; createdAt: Date },
  now: Date,
  graceMs = LADDER_STALLED_AFTER_MS,
): boolean {
  if (alarm.status === 'resolved' || alarm.step < 0) return false;
  return (alarm.nextStepAt ?? alarm.createdAt).getTime() < now.getTime() - graceMs;
}
