import { UnrecoverableError } from 'bullmq';
import { type EscalationPolicy, levelAt } from '../src/domain/escalation/ladder.ts';
import { channelKind, type Notification, VISITING_STAFF } from '../src/notify/channel.ts';
import { channelsFor } from '../src/notify/channels-for.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import { type JobRun, RetryLaterError } from '../src/queue/worker-host.ts';
import type { JobDeps } from './deps.ts';

/**
 * notify: one notification through its channel, once. Each is its own job, so a failing channel is
 * retried on its own and never holds up the other targets or the next level. The escalation step
 * makes the first attempt itself (`deliver`) while its claim lasts; the job, queued beside it as a
 * safety net, waits for the claim to end and then finds the notification sent, or sends it.
 */
export async function notify(
  payload: PayloadOf<DoorstepCatalog, 'notify'>,
  run: JobRun,
  deps: JobDeps,
): Promise<{ status: string }> {
  const { rows } = await deps.db.query<Record<string, unknown>>(
    `SELECT n.id, n.alarm_id, n.step, n.target, n.status, a.school_id, a.type, a.device_id, a.staff_id, a.visit_id, a.policy,
            ceil(GREATEST(0, EXTRACT(EPOCH FROM n.claimed_until - now()) * 1000))::int AS claimed_ms
     FROM notifications n JOIN alarms a ON a.id = n.alarm_id WHERE n.id = $1`,
    [payload.notificationId],
  );
  const r = rows[0];
  if (!r) return { status: 'missing' };
  if (r.status !== 'pending') return { status: r.status as string };
  const claimedMs = Number(r.claimed_ms ?? 0);
  if (claimedMs > 0) {
    // Its step is sending it: in this process, wait for that and look again; elsewhere, later.
    const sending = sendingNow.get(String(r.id));
    if (!sending) throw new RetryLaterError(claimedMs, 'its escalation step is sending it');
    await sending.catch(() => {});
    return notify(payload, run, deps);
  }
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
  return deliver(deps, n, run.attempt >= run.maxAttempts);
}

/** Notifications their escalation step is sending in this process now. */
const sendingNow = new Map<string, Promise<unknown>>();

/** The step's own first attempt (the notification claimed): `deliver`, known to this process's jobs. */
export function deliverClaimed(deps: JobDeps, n: Notification): Promise<{ status: string }> {
  const p = deliver(deps, n, false);
  sendingNow.set(n.id, p);
  const done = () => sendingNow.delete(n.id);
  p.then(done, done);
  return p;
}

/**
 * Sends one pending notification through its channel and records the outcome (sent; or its error,
 * failed on the last try), releasing any claim. Throws what the channel threw.
 */
export async function deliver(deps: JobDeps, n: Notification, last: boolean): Promise<{ status: string }> {
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
      `UPDATE notifications SET status = 'failed', attempts = attempts + 1, last_error = $2, claimed_until = NULL WHERE id = $1`,
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
    await deps.db.query(
      `UPDATE notifications SET status = $3, attempts = attempts + 1, last_error = $2, claimed_until = NULL WHERE id = $1`,
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
