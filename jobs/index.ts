import type { DoorstepCatalog } from '../src/queue/catalog.ts';
import type { JobDeps } from '../src/queue/deps.ts';
import type { Handlers } from '../src/queue/worker-host.ts';
import { deliverRecord } from './deliver-record.ts';
import { escalate } from './escalate.ts';
import { evaluateTriggers } from './evaluate-triggers.ts';
import { heartbeat } from './heartbeat.ts';
import { notify } from './notify.ts';
import { relayOutbox } from './relay-outbox.ts';
import { syncAttendance } from './sync-attendance.ts';
import { watchVisits } from './watch-visits.ts';

/** Job name → handler. */
export const handlers: Handlers<DoorstepCatalog, JobDeps> = {
  heartbeat,
  'sync-attendance': syncAttendance,
  'evaluate-triggers': evaluateTriggers,
  'deliver-record': deliverRecord,
  'relay-outbox': relayOutbox,
  escalate,
  notify,
  'watch-visits': watchVisits,
};
