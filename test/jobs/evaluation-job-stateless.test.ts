import { describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { handOverEvaluations } from '../../jobs/sync-attendance.ts';
import { createLogger } from '../../src/log/logger.ts';
import { configWith } from '../helpers/config.ts';
import { evaluationJobId } from '../helpers/evaluation-jobs.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';

/**
 * Redis back with part of its data (a key evicted, a partial restore): an evaluation chunk's job
 * record can remain with the job in none of the queue's lists — no worker will ever take it. A sync
 * must queue it again, not count it handed over while nothing runs it.
 */
const s = storeAndQueue('evalstateless');
const lines: { msg?: string; importId?: string; job?: string }[] = [];
const clock = new Date('2026-12-07T09:00:00Z');
const deps = (): JobDeps => ({
  db: s.db,
  log: createLogger({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
  producer: s.producer,
  now: () => clock,
  instance: 't',
  config: configWith(),
});

describe('an evaluation chunk whose job record is left in no list of the queue', () => {
  it('is queued again by the next sync, so a worker runs it', async () => {
    const { rows } = await s.db.query<{ id: string }>(
      `INSERT INTO imports (school_id, source, unit, status, started_at, finished_at, changed_pupils)
       VALUES ('alpha', 'sims-xml', 'stateless.xml', 'applied', $1, $1, '["3001","3002"]') RETURNING id`,
      [clock],
    );
    const importId = String(rows[0]!.id);
    await handOverEvaluations(deps(), 'alpha');
    const q = s.producer.queueFor('evaluate-triggers');
    const jobId = evaluationJobId(importId, 0);
    expect(await q.getJobState(jobId)).toBe('waiting');

    // The wait list lost with part of Redis's data; the job's own record is still there.
    await s.conn.lrem(`${s.prefix}:triggers:wait`, 0, jobId);
    expect(await q.getJobState(jobId)).toBe('unknown');

    await handOverEvaluations(deps(), 'alpha');
    expect(await q.getJobState(jobId)).toBe('waiting');
    expect(lines.filter((l) => /handed over again/.test(l.msg ?? ''))).toMatchObject([
      { importId, job: 'lost' },
    ]);
  });
});
