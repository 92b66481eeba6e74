import type { DoorstepCatalog } from '../src/queue/catalog.ts';
import type { JobDeps } from '../src/queue/deps.ts';
import type { Handlers } from '../src/queue/worker-host.ts';
import { heartbeat } from './heartbeat.ts';

/** Job name → handler. The type makes a catalog job without a handler a compile error. */
export const handlers: Handlers<DoorstepCatalog, JobDeps> = {
  heartbeat,
};
