import type { DoorstepCatalog } from '../src/queue/catalog.ts';
import type { JobDeps } from '../src/queue/deps.ts';
import type { Handlers } from '../src/queue/worker-host.ts';
import { heartbeat } from './heartbeat.ts';
import { syncAttendance } from './sync-attendance.ts';

/**
 * Job name → handler. `evaluate-triggers` is enqueued by imports but handled by the triggers issue;
 * until then its queue runs no worker and the jobs wait in Redis.
 */
export const handlers: Handlers<DoorstepCatalog, JobDeps> = {
  heartbeat,
  'sync-attendance': syncAttendance,
};
