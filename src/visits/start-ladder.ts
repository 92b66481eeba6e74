import type { VisitDeps } from './change.ts';

/**
 * The ladder of an alarm a person raised from their phone ("I need help"; "I am still out" past
 * their own return time) started: its first step queued, after the commit. The alarm is stored and on
 * the board — that is what the person is told; should Redis be away, the visit watcher takes the step
 * (a ladder not started), so the page is never told "not sent" of an alarm that was.
 */
export async function startLadder(deps: Pick<VisitDeps, 'producer'>, alarmId: string): Promise<void> {
  await deps.producer
    ?.enqueue('escalate', { alarmId, step: 0 }, { jobId: `escalate-${alarmId}-0` })
    .catch(() => {});
}
