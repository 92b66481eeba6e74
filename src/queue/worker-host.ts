import { DelayedError, type Job, UnrecoverableError, Worker, type WorkerOptions } from 'bullmq';
import { doorstepError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { withoutQuotedData } from '../log/redact.ts';
import type { Catalog, JobName, PayloadOf, Role } from './catalog.ts';
import { type RedisSettings, redisOptions } from './redis.ts';

export interface JobRun {
  id: string;
  name: string;
  /** 1 for the first try. */
  attempt: number;
  /** The catalog's attempts for this job: on the last try a handler can dead-letter loudly. */
  maxAttempts: number;
  /**
   * Aborted on timeout or when the process shuts down; long handlers should honour it. One that does
   * not runs on to its end all the same, and its job waits for it: no retry, no hand-back, until it
   * has stopped.
   */
  signal: AbortSignal;
}

export type JobHandler<Payload, Deps> = (payload: Payload, run: JobRun, deps: Deps) => Promise<unknown>;
/**
 * Job name → handler. A job may lack a handler while the issue that builds it is pending: its queue
 * then runs no worker here and its jobs wait, durable, in Redis (visible in /metrics and bull-board).
 */
export type Handlers<C extends Catalog, Deps> = { [N in JobName<C>]?: JobHandler<PayloadOf<C, N>, Deps> };

export interface WorkerHostOptions<C extends Catalog, Deps> {
  catalog: C;
  handlers: Handlers<C, Deps>;
  deps: Deps;
  roles: readonly Role[];
  redis: RedisSettings;
  prefix: string;
  log: Logger;
  /** Overrides for tests (e.g. short lockDuration / stalledInterval). */
  workerOptions?: Partial<WorkerOptions>;
}

export interface CloseReport {
  /** Jobs still running at the deadline: handed back to the queue to run again, not dropped. */
  handedBack: number;
}

/** Thrown by a handler to run the job again after `delayMs` without consuming a try. */
export class RetryLaterError extends Error {
  readonly delayMs: number;
  constructor(delayMs: number, reason: string) {
    super(reason);
    this.name = 'RetryLaterError';
    this.delayMs = delayMs;
  }
}

const SHUTDOWN = Symbol('shutdown');
const TIMEOUT = Symbol('timeout');

interface InFlight {
  job: Job;
  controller: AbortController;
  settled: Promise<unknown>;
}

/**
 * Runs the workers for the queues whose role was asked for. Shutdown (`close(deadlineMs)`):
 * stop fetching at once; let running jobs finish until the deadline; any still running then are
 * aborted and, once their handlers have stopped, moved back to the queue (`moveToDelayed` now +
 * DelayedError, no try consumed), so a job in flight during shutdown is either completed or run again
 * — never dropped, and never run by another process while this one still runs it.
 *
 * An aborted try (its timeout, or shutdown) is let go only when its handler has stopped: a handler
 * that does not honour its signal keeps its job (and its lock, and its slot of the queue's
 * concurrency) until it ends — a retry never runs beside it, and close() never returns while it runs.
 */
export class WorkerHost<C extends Catalog, Deps> {
  readonly workers: Worker[] = [];
  private readonly inFlight = new Set<InFlight>();
  private readonly options: WorkerHostOptions<C, Deps>;

  constructor(options: WorkerHostOptions<C, Deps>) {
    this.options = options;
    for (const [queue, spec] of Object.entries(options.catalog.queues)) {
      if (!options.roles.includes(spec.role)) continue;
      const jobs = Object.entries(options.catalog.jobs).filter(([, j]) => j.queue === queue);
      if (!jobs.some(([name]) => name in options.handlers)) {
        options.log.info({ queue }, 'no handlers for this queue in this build; its jobs wait in Redis');
        continue;
      }
      const worker = new Worker(queue, (job, token) => this.process(job, token), {
        connection: redisOptions(options.redis, 'worker'),
        prefix: options.prefix,
        concurrency: spec.concurrency,
        autorun: false,
        ...options.workerOptions,
      });
      worker.on('error', (err) => options.log.error({ err, queue }, 'worker error'));
      worker.on('failed', (job, err) =>
        options.log.warn(
          { queue, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err },
          'job failed',
        ),
      );
      this.workers.push(worker);
    }
  }

  /** Starts fetching jobs. */
  run(): void {
    for (const w of this.workers) {
      w.run().catch((err) => this.options.log.error({ err, queue: w.name }, 'worker stopped'));
    }
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  private async process(job: Job, token: string | undefined): Promise<unknown> {
    const { catalog, handlers, deps, log } = this.options;
    const spec = catalog.jobs[job.name];
    const handler = (handlers as Record<string, JobHandler<unknown, Deps>>)[job.name];
    if (!spec || !handler)
      throw new UnrecoverableError(`DOORSTEP_JOB_UNKNOWN: no handler for job "${job.name}"`);
    const parsed = spec.payload.safeParse(job.data);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => i.path.join('.') || '(payload)').join(', ');
      throw new UnrecoverableError(
        `DOORSTEP_JOB_PAYLOAD_INVALID: job "${job.name}" payload invalid at ${fields}`,
      );
    }

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(TIMEOUT), spec.timeoutMs);
    const run: JobRun = {
      id: String(job.id),
      name: job.name,
      attempt: job.attemptsMade + 1,
      maxAttempts: spec.attempts,
      signal: controller.signal,
    };
    const work = handler(parsed.data, run, deps);
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    const entry: InFlight = { job, controller, settled: work.catch(() => {}) };
    this.inFlight.add(entry);
    try {
      return await Promise.race([work, aborted]);
    } catch (err) {
      if (err === SHUTDOWN || err === TIMEOUT) {
        // Aborted: the handler may not have stopped (one that ignores its signal runs on). Its job is
        // let go — failed for a retry, handed back for another process — only once it has.
        log.warn(
          {
            queue: job.queueName,
            job: job.name,
            jobId: job.id,
            abortedBy: err === TIMEOUT ? 'timeout' : 'shutdown',
          },
          'job aborted: waiting for its handler to stop before the job runs again',
        );
        await entry.settled;
      }
      if (err === SHUTDOWN) {
        // Hand the job back now rather than waiting for its lock to expire; the try is not counted.
        await job.moveToDelayed(Date.now(), token);
        log.warn({ queue: job.queueName, job: job.name, jobId: job.id }, 'job handed back at shutdown');
        throw new DelayedError();
      }
      if (err instanceof RetryLaterError) {
        // Not the job's fault (a rate limit): run it again later without using one of its tries.
        await job.moveToDelayed(Date.now() + err.delayMs, token);
        throw new DelayedError();
      }
      if (err === TIMEOUT) {
        throw doorstepError('JOB_TIMEOUT', `job "${job.name}" exceeded its ${spec.timeoutMs} ms timeout`);
      }
      // BullMQ keeps the reason and stack in Redis: without the value a data exception quotes.
      throw withoutQuotedData(err);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(entry);
    }
  }

  get activeCount(): number {
    return this.inFlight.size;
  }

  async close(deadlineMs: number): Promise<CloseReport> {
    // BullMQ's graceful close stops fetching at once (it drops the blocking connection first) and
    // then waits for the running jobs; we bound that wait with our own deadline.
    const closing = Promise.all(this.workers.map((w) => w.close()));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const first = await Promise.race([closing.then(() => 'closed' as const), deadline]);
    clearTimeout(timer);
    let handedBack = 0;
    if (first === 'deadline') {
      handedBack = this.inFlight.size;
      const running = [...this.inFlight].map((entry) => entry.settled);
      for (const entry of this.inFlight) entry.controller.abort(SHUTDOWN);
      // Not before every handler has stopped: the process closes its store and Redis next.
      await Promise.all([closing, ...running]);
    }
    return { handedBack };
  }
}
