import type { JobDeps } from '../../jobs/deps.ts';
import { handlers } from '../../jobs/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import type { Db } from '../../src/store/db.ts';
import { evaluationsNotDone } from '../../src/store/imports.ts';
import { TEST_REDIS_URL } from './services.ts';
import type { StoreAndQueue } from './store-queue.ts';
import { until } from './wait.ts';

/** The one job id of an import's evaluation chunk (as the sync gives it). */
export const evaluationJobId = (importId: string, chunk: number) =>
  chunk === 0 ? `evaluate-import-${importId}` : `evaluate-import-${importId}-${chunk}`;

/**
 * Runs the queue's `evaluate-triggers` jobs with the database away (every statement fails, as in a
 * failover) until each of the import's `chunks` has used all its tries and failed — a job the sync
 * finds finished, not evaluated. The backoff is skipped: each delayed retry is promoted at once.
 * Each job fails at the deps' clock (`deps.now()`): its record's failure time (`finishedOn`, written
 * by the worker from its own clock) is set to it, as a worker whose clock that is would have.
 */
export async function failEvaluationTries(
  s: StoreAndQueue,
  deps: JobDeps,
  importId: string,
  chunks: number[],
): Promise<void> {
  const away = new Proxy(s.db, {
    get(target, key, receiver) {
      if (key === 'query' || key === 'transaction')
        return async () => {
          throw new Error('Connection terminated unexpectedly');
        };
      return Reflect.get(target, key, receiver);
    },
  }) as Db;
  const host = new WorkerHost({
    catalog,
    handlers,
    deps: { ...deps, db: away },
    roles: ['worker'],
    redis: { url: TEST_REDIS_URL },
    prefix: s.prefix,
    log: createLogger({ level: 'silent' }),
  });
  host.run();
  const q = s.producer.queueFor('evaluate-triggers');
  try {
    await until(
      async () => {
        for (const chunk of chunks) {
          const job = await q.getJob(evaluationJobId(importId, chunk));
          const state = await job?.getState();
          if (state === 'delayed') await job!.promote().catch(() => {});
          if (state !== 'failed') return false;
        }
        return true;
      },
      30_000,
      `import ${importId}'s evaluation jobs to use their tries`,
    );
  } finally {
    await host.close(1000);
  }
  const failedOn = deps.now().getTime();
  for (const chunk of chunks)
    await s.conn.hset(q.toKey(evaluationJobId(importId, chunk)), 'finishedOn', failedOn);
}

/** The imports with chunks not evaluated, and those chunks (their windows left out). */
export const notEvaluated = async (...a: Parameters<typeof evaluationsNotDone>) =>
  (await evaluationsNotDone(...a)).map(({ importId, chunks }) => ({ importId, chunks }));
