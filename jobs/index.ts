import { UnrecoverableError } from 'bullmq';
import { retryClassOf } from '../src/errors.ts';
import type { DoorstepCatalog } from '../src/queue/catalog.ts';
import type { Handlers, JobHandler } from '../src/queue/worker-host.ts';
import { failPendingNotification } from '../src/store/notify.ts';
import { chaseOutcomes } from './chase-outcomes.ts';
import { deliverRecord } from './deliver-record.ts';
import type { JobDeps } from './deps.ts';
import { escalate } from './escalate.ts';
import { evaluateTriggers } from './evaluate-triggers.ts';
import { heartbeat } from './heartbeat.ts';
import { notify } from './notify.ts';
import { purge } from './purge.ts';
import { relayOutbox } from './relay-outbox.ts';
import { sendNotice } from './send-notice.ts';
import { syncAttendance } from './sync-attendance.ts';
import { watchVisits } from './watch-visits.ts';

/**
 * A try that fails with a `permanent` or `config` error (src/errors.ts) is the job's last: trying the
 * same thing again fails the same way (an unknown school, refused credentials, a malformed answer).
 * Anything else — a transient error, or a value that is not ours — keeps the catalog's retries.
 */
export function retriedByClass<P>(
  handler: JobHandler<P, JobDeps>,
  onGiveUp?: (payload: P, reason: string, deps: JobDeps) => Promise<void>,
): JobHandler<P, JobDeps> {
  return async (payload, run, deps) => {
    try {
      return await handler(payload, run, deps);
    } catch (err) {
      if (retryClassOf(err) === 'transient') throw err;
      const e = err as Error & { code: string };
      await onGiveUp?.(payload, e.message, deps);
      throw new UnrecoverableError(`${e.code}: ${e.message}`);
    }
  };
}

/**
 * Job name → handler. A notification given up on is marked failed (the handler marks it so only on
 * its last try). The alarm path's escalate and watch-visits decide their own retries: each step is
 * re-checked against the alarm's or the visit's state on every try.
 */
export const handlers: Handlers<DoorstepCatalog, JobDeps> = {
  heartbeat: retriedByClass(heartbeat),
  'sync-attendance': retriedByClass(syncAttendance),
  'evaluate-triggers': retriedByClass(evaluateTriggers),
  'deliver-record': retriedByClass(deliverRecord),
  'relay-outbox': retriedByClass(relayOutbox),
  'chase-outcomes': retriedByClass(chaseOutcomes),
  purge: retriedByClass(purge),
  escalate,
  notify: retriedByClass(notify, (payload, reason, deps) =>
    failPendingNotification(deps.db, payload.notificationId, reason),
  ),
  'send-notice': retriedByClass(sendNotice),
  'watch-visits': watchVisits,
};
