import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobStanding } from '../domain/triggers/evaluation-hand-over.ts';
import { doorstepError } from '../errors.ts';
import type { Catalog, JobName, JobSpec, PayloadInput } from './catalog.ts';

export interface EnqueueOptions {
  /** Stable id: enqueueing the same id twice adds one job (BullMQ ignores the duplicate). */
  jobId?: string;
  delayMs?: number;
  /** BullMQ deduplication: while a job with this id is waiting, delayed or running, adds are ignored. */
  deduplicationId?: string;
  /**
   * With `deduplicationId`: an add while that job is running is not dropped but kept, once, to run
   * when the running one ends (BullMQ `keepLastIfActive`), for work that must see what arrived since.
   */
  rerunIfActive?: boolean;
}

function deduplication(options: EnqueueOptions): JobsOptions {
  if (!options.deduplicationId) return {};
  return {
    deduplication: {
      id: options.deduplicationId,
      ...(options.rerunIfActive ? { keepLastIfActive: true } : {}),
    },
  };
}

/** Job options every Doorstep job shares; retries and backoff come from the catalog. */
export function jobOptions(spec: JobSpec): JobsOptions {
  return {
    attempts: spec.attempts,
    backoff: {
      type: spec.backoff.type,
      delay: spec.backoff.delayMs,
      ...(spec.backoff.type === 'exponential' ? { jitter: 0.25 } : {}),
    },
    removeOnComplete: { age: 24 * 3600, count: 5000 },
    // Failed jobs are kept for a week so they can be inspected and retried from /admin/queues.
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/**
 * Enqueues catalog jobs. The payload is validated first; a bad payload throws
 * DOORSTEP_JOB_PAYLOAD_INVALID naming each failing field and nothing is enqueued.
 * Uses a fail-fast connection: when Redis is down, `enqueue` rejects rather than buffering.
 */
export class Producer<C extends Catalog> {
  readonly catalog: C;
  readonly queues: ReadonlyMap<string, Queue>;

  constructor(catalog: C, connection: Redis, prefix: string) {
    this.catalog = catalog;
    this.queues = new Map(
      Object.keys(catalog.queues).map((name) => [name, new Queue(name, { connection, prefix })] as const),
    );
  }

  private spec(name: string): JobSpec {
    const spec = this.catalog.jobs[name];
    if (!spec) throw doorstepError('JOB_UNKNOWN', `no job named "${name}" in the catalog`);
    return spec;
  }

  queueFor(name: JobName<C>): Queue {
    return this.queues.get(this.spec(name).queue)!;
  }

  validate<N extends JobName<C>>(name: N, payload: PayloadInput<C, N>): unknown {
    const parsed = this.spec(name).payload.safeParse(payload);
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
      throw doorstepError(
        'JOB_PAYLOAD_INVALID',
        `payload for job "${name}" is invalid: ${details.join('; ')}`,
        {
          details,
        },
      );
    }
    return parsed.data;
  }

  async enqueue<N extends JobName<C>>(name: N, payload: PayloadInput<C, N>, options: EnqueueOptions = {}) {
    const data = this.validate(name, payload);
    return this.queueFor(name).add(name, data, {
      ...jobOptions(this.spec(name)),
      ...(options.jobId ? { jobId: options.jobId } : {}),
      ...(options.delayMs ? { delay: options.delayMs } : {}),
      ...deduplication(options),
    });
  }

  /**
   * Where the job under this id stands: `untried` (queued, and no worker has taken it yet: its tries
   * all to come), `trying` (running, or waiting or delayed for a try after one), `finished` (it failed
   * after its tries, or completed; its record is kept in Redis), with when it did (`at`, the worker's
   * clock; absent on a record without it), or `lost` (no job has the id: gone with Redis — flushed, or
   * a new one — or removed by hand).
   */
  async standing<N extends JobName<C>>(name: N, jobId: string): Promise<JobStanding> {
    const job = await this.queueFor(name).getJob(jobId);
    const state = job ? await job.getState() : 'unknown';
    if (!job || state === 'unknown') return { is: 'lost' };
    if (state === 'failed' || state === 'completed')
      return job.finishedOn ? { is: 'finished', at: new Date(job.finishedOn) } : { is: 'finished' };
    return {
      is:
        state !== 'active' && (job.attemptsStarted ?? 0) === 0 && job.attemptsMade === 0
          ? 'untried'
          : 'trying',
    };
  }

  /**
   * A job run again under its own id, when it will not run by itself: a finished one (failed, or
   * completed) retried — `freshTries` gives it its tries again, else it is on its last — and a lost
   * one (none under the id, or a record left in none of the queue's lists) queued anew (a finished
   * job's id kept in Redis would make a plain add a no-op). `running`: it
   * is still waiting, delayed or running; `raced`: another caller retried it between the look and now.
   */
  async rerun<N extends JobName<C>>(
    name: N,
    payload: PayloadInput<C, N>,
    jobId: string,
    options: { freshTries?: boolean } = {},
  ): Promise<'queued' | 'running' | 'raced'> {
    const job = await this.queueFor(name).getJob(jobId);
    const state = job ? await job.getState() : 'missing';
    if (job && (state === 'failed' || state === 'completed')) {
      const fresh = options.freshTries ? { resetAttemptsMade: true, resetAttemptsStarted: true } : {};
      return job.retry(state, fresh).then(
        () => 'queued' as const,
        () => 'raced' as const,
      );
    }
    if (job && state !== 'unknown') return 'running';
    // A record left in none of the queue's lists (Redis back with part of its data): no worker will
    // take it, and an add under its id is ignored while it is there. It goes first — unless a worker
    // holds its lock (it is running it).
    if (job && (await this.queueFor(name).remove(jobId)) !== 1) return 'running';
    await this.enqueue(name, payload, { jobId });
    return 'queued';
  }

  /**
   * Several jobs of one kind in one round trip to Redis (BullMQ `addBulk`: one pipeline). Every payload
   * is validated first; one invalid payload throws and nothing is enqueued. Job ids keep their
   * meaning: an id already present adds nothing.
   */
  async enqueueBulk<N extends JobName<C>>(
    name: N,
    jobs: readonly { payload: PayloadInput<C, N>; options?: EnqueueOptions }[],
  ) {
    const spec = this.spec(name);
    const base = jobOptions(spec);
    const bulk = jobs.map(({ payload, options = {} }) => ({
      name,
      data: this.validate(name, payload),
      opts: {
        ...base,
        ...(options.jobId ? { jobId: options.jobId } : {}),
        ...(options.delayMs ? { delay: options.delayMs } : {}),
        ...deduplication(options),
      },
    }));
    const queue = this.queueFor(name);
    // One job: the plain add (one script call), not a pipeline — an ioredis pipeline copies every
    // script the queue defines onto itself, which on the alarm path (mostly groups of one) was the
    // largest single source of garbage.
    if (bulk.length === 1) return [await queue.add(name, bulk[0]!.data, bulk[0]!.opts)];
    return queue.addBulk(bulk);
  }

  /** A repeating job; upserting the same scheduler id from several processes keeps one schedule. */
  async schedule<N extends JobName<C>>(
    schedulerId: string,
    name: N,
    repeat: { everyMs: number } | { cron: string; tz: string },
    payload: PayloadInput<C, N>,
  ): Promise<void> {
    const data = this.validate(name, payload);
    const repeatOpts =
      'everyMs' in repeat ? { every: repeat.everyMs } : { pattern: repeat.cron, tz: repeat.tz };
    const { attempts, backoff, removeOnComplete, removeOnFail } = jobOptions(this.spec(name));
    await this.queueFor(name).upsertJobScheduler(schedulerId, repeatOpts, {
      name,
      data,
      opts: { attempts, backoff, removeOnComplete, removeOnFail },
    } as never);
  }

  /** Whether the job scheduler `schedulerId` of this job is in Redis. */
  async hasScheduler<N extends JobName<C>>(name: N, schedulerId: string): Promise<boolean> {
    return (await this.queueFor(name).getJobScheduler(schedulerId)) != null;
  }

  /** Removes this job's schedulers whose id starts with `prefix` and is not in `keep`. */
  async pruneSchedulers<N extends JobName<C>>(
    name: N,
    prefix: string,
    keep: readonly string[],
  ): Promise<string[]> {
    const queue = this.queueFor(name);
    const removed: string[] = [];
    for (const s of await queue.getJobSchedulers(0, -1)) {
      const id = s.key ?? s.id;
      if (id?.startsWith(prefix) && !keep.includes(id)) {
        await queue.removeJobScheduler(id);
        removed.push(id);
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
