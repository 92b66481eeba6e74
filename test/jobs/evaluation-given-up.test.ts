import { describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { handlers } from '../../jobs/index.ts';
import { enqueueEvaluation, handOverEvaluations } from '../../jobs/sync-attendance.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog, EVALUATION_CHUNK } from '../../src/queue/catalog.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { importsAwaitingEvaluation } from '../../src/store/imports.ts';
import { configWith } from '../helpers/config.ts';
import { evaluationJobId, failEvaluationTries, notEvaluated } from '../helpers/evaluation-jobs.ts';
import { TEST_REDIS_URL } from '../helpers/services.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';
import { until } from '../helpers/wait.ts';

/**
 * An import's changed pupils are handed to `evaluate-triggers` and the import is marked handed over at
 * once, before any evaluation ran. A job that then uses all its tries (a database failover of a few
 * minutes: 10 s, 20 s, 40 s, 80 s backoff) is handed over again by the next sync, its tries afresh —
 * not left for the nightly run (a child on a plan absent today waiting a day for its trigger).
 */
const s = storeAndQueue('evalgiveup');
const log = createLogger({ level: 'silent' });

function host(deps: JobDeps) {
  const h = new WorkerHost({
    catalog,
    handlers,
    deps,
    roles: ['worker'],
    redis: { url: TEST_REDIS_URL },
    prefix: s.prefix,
    log,
  });
  h.run();
  return h;
}

describe('an import whose trigger evaluation gave up', () => {
  it('is handed over again by the next sync, and evaluated once the database is back', async () => {
    const { rows } = await s.db.query<{ id: string }>(
      `INSERT INTO imports (school_id, source, unit, sha256, status, started_at, changed_pupils)
       VALUES ('alpha', 'sims-xml', 'session-attendance.xml', NULL, 'applied', now(), '["1001","1002"]')
       RETURNING id`,
    );
    const importId = String(rows[0]!.id);
    const config = configWith();
    const deps: JobDeps = {
      db: s.db,
      log,
      producer: s.producer,
      now: () => new Date(),
      instance: 't',
      config,
    };
    await enqueueEvaluation(deps, 'alpha', importId);
    expect(await importsAwaitingEvaluation(s.db, 'alpha')).toEqual([]);
    // Handed over, not evaluated: its job still to run.
    expect(await notEvaluated(s.db, 'alpha', EVALUATION_CHUNK)).toEqual([{ importId, chunks: [0] }]);

    // The database is away for the job's tries (a failover): every statement fails, transiently.
    // Its backoff (10 s doubling) skipped: each delayed retry promoted at once.
    await failEvaluationTries(s, deps, importId, [0]);
    const q = s.producer.queueFor('evaluate-triggers');
    const jobId = evaluationJobId(importId, 0);
    expect((await q.getJob(jobId))?.attemptsMade).toBe(catalog.jobs['evaluate-triggers'].attempts);
    expect(await notEvaluated(s.db, 'alpha', EVALUATION_CHUNK)).toEqual([{ importId, chunks: [0] }]);

    // The database is back; the next sync hands the chunk over again, its tries afresh.
    await handOverEvaluations(deps, 'alpha');
    expect(['waiting', 'prioritized']).toContain(await (await q.getJob(jobId))?.getState());
    expect((await q.getJob(jobId))?.attemptsMade).toBe(0);
    const working = host(deps);
    try {
      await until(async () => (await q.getJobState(jobId)) === 'completed', 30_000, 'the evaluation');
    } finally {
      await working.close(1000);
    }
    expect(await notEvaluated(s.db, 'alpha', EVALUATION_CHUNK)).toEqual([]);

    // Evaluated: a later sync hands nothing over again.
    await handOverEvaluations(deps, 'alpha');
    expect(await q.getJobState(jobId)).toBe('completed');
  });

  it('is given up 24 h after a sync first handed it over again, said once, and no sync hands it over again', async () => {
    const insert = async (finishedAgo: string) => {
      const { rows } = await s.db.query<{ id: string }>(
        `INSERT INTO imports (school_id, source, unit, sha256, status, started_at, finished_at, changed_pupils)
         VALUES ('beta', 'sims-xml', 'session-attendance.xml', NULL, 'applied', now() - $1::interval,
                 now() - $1::interval, '["2001","2002"]')
         RETURNING id`,
        [finishedAgo],
      );
      return String(rows[0]!.id);
    };
    const old = await insert('25 hours');
    const recent = await insert('23 hours');
    const lines: { msg?: string; importId?: string; chunks?: number[] }[] = [];
    const deps: JobDeps = {
      db: s.db,
      log: createLogger({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
      producer: s.producer,
      now: () => new Date(),
      instance: 't',
      config: configWith(),
    };
    const q = s.producer.queueFor('evaluate-triggers');
    for (const id of [old, recent]) {
      await enqueueEvaluation(deps, 'beta', id);
      // Its job used all its tries: nothing runs it again but a sync.
      await failEvaluationTries(s, deps, id, [0]);
    }
    // A sync first handed each over again as long ago as its import (the day is counted from then).
    await s.db.query(
      `UPDATE imports SET evaluation_retried_from = finished_at WHERE id = ANY($1::bigint[])`,
      [[old, recent]],
    );

    await handOverEvaluations(deps, 'beta');
    // The recent one is handed over again; the old one, past 24 h (the nightly run has evaluated its
    // pupils), is not: it would hold the one-at-a-time triggers queue for ever if it always fails.
    expect(await q.getJobState(`evaluate-import-${recent}`)).toBe('waiting');
    expect(await q.getJobState(`evaluate-import-${old}`)).toBe('failed');
    const givenUp = lines.filter((l) => /given up/.test(l.msg ?? ''));
    expect(givenUp).toMatchObject([{ importId: old, chunks: [0] }]);

    // Said once: the next sync neither hands it over nor says it again.
    await handOverEvaluations(deps, 'beta');
    expect(await q.getJobState(`evaluate-import-${old}`)).toBe('failed');
    expect(lines.filter((l) => /given up/.test(l.msg ?? ''))).toHaveLength(1);
    expect(await notEvaluated(s.db, 'beta', EVALUATION_CHUNK)).toEqual([{ importId: recent, chunks: [0] }]);
  });
});
