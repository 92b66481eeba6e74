import { failureOf, unreachable } from '../src/core/outbound-http.ts';
import type { Secret } from '../src/core/secret.ts';
import { doorstepError } from '../src/errors.ts';
import type { DoorstepCatalog, PayloadOf } from '../src/queue/catalog.ts';
import { overdueQueue } from '../src/queue/overdue.ts';
import type { JobRun } from '../src/queue/worker-host.ts';
import { appendAudit, auditEntryFor } from '../src/store/audit.ts';
import type { JobDeps } from './deps.ts';

/** One job of each queue on the alarm path (the visit watcher and ladders; notifications). */
const ALARM_PATH_QUEUE_JOBS = ['watch-visits', 'notify'] as const;
/** How long a job on the alarm path may wait past its time before the switch is left to alert. */
const ALARM_PATH_GRACE_MS = 2 * 60_000;

/**
 * Heartbeat: proves the whole path (scheduler → Redis → worker → Postgres) works. One audit entry
 * per beat. Idempotent per job id: a retried beat that already wrote its entry writes nothing more.
 * Then, when `heartbeat.deadManUrl` is set, it pings that dead man's switch, so a service outside
 * Doorstep alerts someone when the beats stop (a ping is sent only after the store took the beat).
 */
export async function heartbeat(
  payload: PayloadOf<DoorstepCatalog, 'heartbeat'>,
  run: JobRun,
  deps: JobDeps,
): Promise<{ auditId: string | null; pinged?: boolean }> {
  const auditId = await deps.db.transaction(async (tx) => {
    const earlier = await auditEntryFor(tx, 'heartbeat', 'job', run.id);
    if (earlier !== undefined) return earlier;
    return appendAudit(tx, {
      actor: 'system:heartbeat',
      action: 'heartbeat',
      schoolId: payload.schoolId ?? null,
      entityType: 'job',
      entityId: run.id,
      after: {
        source: payload.source,
        instance: deps.instance,
        at: deps.now().toISOString(),
        attempt: run.attempt,
      },
    });
  });
  const url = deps.config.heartbeat.deadManUrl;
  if (!url) return { auditId };
  // The beat runs in the worker role; the alarm path (visit watcher, ladders, notifications) may run
  // in another process. When its queues hold a job long past due, nothing is taking them: the switch
  // is not told all is well, so it alerts someone.
  const late = await overdueQueue(
    ALARM_PATH_QUEUE_JOBS.map((name) => deps.producer.queueFor(name)),
    deps.now().getTime(),
    ALARM_PATH_GRACE_MS,
  );
  if (late !== null) {
    deps.log.warn(
      { queue: late.queue, waitedMs: late.waitedMs },
      'dead man’s switch not pinged: a job on the alarm path has waited past its time (is the ingest role running?)',
    );
    return { auditId, pinged: false };
  }
  await pingDeadMan(url, run.signal);
  return { auditId, pinged: true };
}

/**
 * One GET to the dead man's switch, its failure read like every outbound call (src/core/outbound-http.ts):
 * no answer, 429 and 5xx are transient (the job retries); 401/403 and other 4xx mean the URL is wrong
 * or revoked (config: not retried; the switch then alerts, as it should). Only the origin is ever
 * shown: the rest of the URL is the credential.
 */
export async function pingDeadMan(url: Secret, signal?: AbortSignal): Promise<void> {
  const target = url.reveal();
  let shown = 'the dead man’s switch';
  try {
    shown = new URL(target).origin;
  } catch {
    throw doorstepError('DEAD_MAN_REFUSED', 'heartbeat.deadManUrl is not a URL');
  }
  let res: Response;
  try {
    res = await fetch(target, {
      method: 'GET',
      headers: { 'user-agent': 'doorstep-heartbeat' },
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(10_000)]) : AbortSignal.timeout(10_000),
      redirect: 'follow',
    });
  } catch (err) {
    const u = unreachable(err);
    throw doorstepError(
      'DEAD_MAN_UNAVAILABLE',
      `${shown}: ${u.timedOut ? 'no answer within 10 s' : u.reason}`,
      { cause: err },
    );
  }
  await res.body?.cancel();
  const failure = failureOf(res, { refuse4xx: true });
  if (!failure) return;
  throw doorstepError(
    failure.kind === 'auth' || failure.kind === 'refused' ? 'DEAD_MAN_REFUSED' : 'DEAD_MAN_UNAVAILABLE',
    `${shown}: HTTP ${res.status}`,
  );
}
