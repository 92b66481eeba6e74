import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { type StoreAndQueue, storeAndQueue } from './store-queue.ts';
import { addPupils, visitSchoolsConfig } from './visits.ts';
import { buildWebApp } from './web.ts';

/**
 * The register's world for a test file: its own store and queue (`storeAndQueue`), the visit schools'
 * config with Hampton's pupils, the web app, and the deps the visit steps and the jobs take — all on
 * the file's clock `now`. Filled in by the time a test runs; closed after the file's tests.
 */
export interface VisitWorld extends StoreAndQueue {
  config: DoorstepConfig;
  app: FastifyInstance;
  vdeps: VisitDeps;
  jdeps: JobDeps;
}

export function visitWorld(label: string, now: () => Date): VisitWorld {
  const w = storeAndQueue(label) as VisitWorld;
  w.config = visitSchoolsConfig();
  beforeAll(async () => {
    const { config, db, prefix, producer, conn } = w;
    w.app = await buildWebApp(config, db, { prefix, producer, publisher: conn, now });
    w.vdeps = { db, config, rulesFor: visitRulesLookup(config), prefix, now };
    w.jdeps = {
      db,
      log: createLogger({ level: 'silent' }),
      producer,
      now,
      instance: 't',
      config,
      publisher: conn,
    };
    await addPupils(db, ['hampton']);
  });
  afterAll(async () => {
    await w.app.close();
  });
  return w;
}

/** A job run for calling the register's watcher by hand (`watchVisits`). */
export const WATCH_RUN = {
  id: 'x',
  name: 'watch-visits',
  attempt: 1,
  maxAttempts: 1,
  signal: new AbortController().signal,
};
