import { decideStep } from '../src/domain/escalation/ladder.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import {
  addTimeline,
  createNotifications,
  lockAlarm,
  pauseEscalation,
  setEscalationStep,
} from '../src/store/alarm-state.ts';
import type { JobDeps } from './deps.ts';

/**
 * escalate: one step of an alarm's ladder. It locks the alarm and re-reads it, so an acknowledgement
 * (or resolution) stops every further page — across restarts, since the state lives in the database.
 * A step's changes are made once (the alarm records the next step due; another worker or a replay
 * finds the step already taken). After the commit — also when the step was already taken — its
 * notification jobs and the next step's delayed job are queued under ids derived from the alarm,
 * so a crash between commit and queue is repaired by the retry and nothing is sent twice.
 */
export async function escalate(
  payload: PayloadOf<DoorstepCatalog, 'escalate'>,
  _run: JobRun,
  deps: JobDeps,
): Promise<{ outcome: string }> {
  const outcome = await deps.db.transaction(async (tx) => {
    const alarm = await lockAlarm(tx, payload.alarmId);
    if (!alarm) return 'missing';
    if (alarm.escalationStep !== payload.step) return 'already taken';
    const decision = decideStep(alarm.policy, payload.step, alarm.status);
    if (decision.kind === 'stop') {
      if (decision.reason === 'acknowledged') await pauseEscalation(tx, alarm.id, payload.step);
      else await setEscalationStep(tx, alarm.id, -1);
      await addTimeline(tx, alarm.id, `escalation stopped: ${decision.reason}`);
      return `stopped: ${decision.reason}`;
    }
    await createNotifications(tx, alarm.id, payload.step, decision.targets);
    await addTimeline(
      tx,
      alarm.id,
      `level ${decision.level + 1}${decision.round ? ` (repeat ${decision.round})` : ''}: notified ${decision.targets.join(', ')}`,
    );
    await setEscalationStep(
      tx,
      alarm.id,
      decision.next.step,
      new Date(deps.now().getTime() + decision.next.delayMs),
    );
    return `level ${decision.level + 1} notified`;
  });
  if (outcome === 'missing' || outcome.startsWith('stopped')) return { outcome };

  // Queue this step's sends and the next step (idempotent job ids).
  const { rows } = await deps.db.query<{
    id: string;
    status: string;
    escalation_step: number;
    next_step_at: Date | null;
  }>(
    `SELECT n.id, n.status, a.escalation_step, a.next_step_at FROM notifications n JOIN alarms a ON a.id = n.alarm_id
     WHERE n.alarm_id = $1 AND n.step = $2`,
    [payload.alarmId, payload.step],
  );
  for (const n of rows) {
    if (n.status === 'pending')
      await deps.producer.enqueue('notify', { notificationId: String(n.id) }, { jobId: `notify-${n.id}` });
  }
  const next = rows[0]?.escalation_step ?? -1;
  if (next === payload.step + 1) {
    // Step ids are unique per alarm; a re-entry after a timed-out acknowledgement has its own (below).
    // The due time was fixed when the step was taken: a retry later waits only what is left of it.
    const dueAt = rows[0]!.next_step_at;
    const delayMs = dueAt ? Math.max(0, new Date(dueAt).getTime() - deps.now().getTime()) : 0;
    await deps.producer.enqueue(
      'escalate',
      { alarmId: payload.alarmId, step: next },
      { jobId: `escalate-${payload.alarmId}-${next}`, ...(delayMs > 0 ? { delayMs } : {}) },
    );
  }
  return { outcome };
}
