import { UnrecoverableError } from 'bullmq';
import { channelKind, type Notification } from '../src/notify/channel.ts';
import { channelsFor } from '../src/notify/channels-for.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobDeps } from '../src/queue/deps.ts';
import type { JobRun } from '../src/queue/worker-host.ts';

/**
 * notify: one notification through its channel, once. Each is its own job, so a failing channel is
 * retried on its own and never holds up the other targets or the next level.
 */
export async function notify(
  payload: PayloadOf<DoorstepCatalog, 'notify'>,
  run: JobRun,
  deps: JobDeps,
): Promise<{ status: string }> {
  const { rows } = await deps.db.query<Record<string, unknown>>(
    `SELECT n.id, n.alarm_id, n.step, n.target, n.status, a.school_id, a.type, a.device_id, a.staff_id
     FROM notifications n JOIN alarms a ON a.id = n.alarm_id WHERE n.id = $1`,
    [payload.notificationId],
  );
  const r = rows[0];
  if (!r) return { status: 'missing' };
  if (r.status !== 'pending') return { status: r.status as string };
  const n: Notification = {
    id: String(r.id),
    alarmId: String(r.alarm_id),
    schoolId: r.school_id as string,
    step: r.step as number,
    target: r.target as string,
    alarmType: r.type as string,
    deviceId: r.device_id as string,
    staffId: (r.staff_id as string | null) ?? null,
  };
  const school = deps.config.schools.find((s) => s.id === n.schoolId);
  const channel = school
    ? channelsFor(school, { db: deps.db, publisher: deps.publisher, prefix: deps.config.redis.prefix }).get(
        channelKind(n.target),
      )
    : undefined;
  if (!channel) {
    const reason = `no "${channelKind(n.target)}" channel is configured`;
    await deps.db.query(
      `UPDATE notifications SET status = 'failed', attempts = attempts + 1, last_error = $2 WHERE id = $1`,
      [n.id, reason],
    );
    throw new UnrecoverableError(reason);
  }
  try {
    const receipt = await channel.send(n);
    await deps.db.query(
      `UPDATE notifications SET status = 'sent', attempts = attempts + 1, receipt = $2, sent_at = now() WHERE id = $1 AND status = 'pending'`,
      [n.id, receipt.receipt],
    );
    return { status: 'sent' };
  } catch (err) {
    const last = run.attempt >= run.maxAttempts;
    await deps.db.query(
      `UPDATE notifications SET status = $3, attempts = attempts + 1, last_error = $2 WHERE id = $1`,
      [n.id, (err as Error).message, last ? 'failed' : 'pending'],
    );
    throw err;
  }
}
