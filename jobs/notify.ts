import { UnrecoverableError } from 'bullmq';
import { type EscalationPolicy, levelAt } from '../src/domain/escalation/ladder.ts';
import { channelKind, type Notification, VISITING_STAFF } from '../src/notify/channel.ts';
import { channelsFor } from '../src/notify/channels-for.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import type { JobDeps } from './deps.ts';

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
    `SELECT n.id, n.alarm_id, n.step, n.target, n.status, a.school_id, a.type, a.device_id, a.staff_id, a.visit_id, a.policy
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
    deviceId: (r.device_id as string | null) ?? null,
    staffId: (r.staff_id as string | null) ?? null,
    visitId: r.visit_id === null ? null : String(r.visit_id),
    prompt: r.policy ? (levelAt(r.policy as EscalationPolicy, r.step as number).prompt ?? null) : null,
  };
  const school = deps.config.schools.find((s) => s.id === n.schoolId);
  const extra: Record<string, { phone?: string | undefined; email?: string | undefined }[]> = {};
  if (n.target.endsWith(`:${VISITING_STAFF}`)) extra[VISITING_STAFF] = await visitingStaff(deps, n);
  const channel = school
    ? channelsFor(
        school,
        { db: deps.db, publisher: deps.publisher, prefix: deps.config.redis.prefix },
        extra,
      ).get(channelKind(n.target))
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

/** The people on the alarm's visit (lead and partner), else the wearer of the alarmed device. */
async function visitingStaff(deps: JobDeps, n: Notification) {
  const { rows } = await deps.db.query<{ phone: string | null; email: string | null }>(
    n.visitId
      ? `SELECT u.phone, u.email FROM visits v JOIN users u ON u.id IN (v.lead_user_id, v.partner_user_id) WHERE v.id = $1`
      : 'SELECT phone, email FROM users WHERE staff_id = $1',
    [n.visitId ?? n.staffId],
  );
  return rows.map((r) => ({ phone: r.phone ?? undefined, email: r.email ?? undefined }));
}
