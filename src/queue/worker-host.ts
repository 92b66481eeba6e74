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
   * not runs on to its end all the same; its job waits for it a short while only (`letGoAfterMs`),
   * then is retried or handed back beside it.
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

/** The most a timed-out try waits for its handler to stop before the try is failed all the same. */
export const TIMEOUT_GRACE_MAX_MS = 5000;
/** The most of close()'s deadline kept back for aborted handlers to stop before their jobs go back. */
export const SHUTDOWN_GRACE_MAX_MS = 1000;

/**
 * How long an aborted try waits for its handler to stop before its job is let go regardless.
 *
 * On timeout: min(timeoutMs, 5 s). A handler that heeds its signal stops within milliseconds and one
 * in a database statement or HTTP call usually finishes it within a few seconds, so the retry does not
 * start beside it; one stuck on a silent connection (a statement with no time limit waits for the TCP
 * timeout, ~15 min) must not hold its job, its lock and its slot of the queue's concurrency (the
 * alarms queue's escalate and watch-visits) that long, so the try fails after the grace and the retry
 * runs on a fresh connection. A retry beside a handler that truly hangs is safe on the alarm path:
 * escalate takes its step in one statement that holds only while the alarm is still at that step (the
 * second finds it taken), and notify sends only a notification still pending (at worst one message
 * twice, never none).
 *
 * At shutdown: a quarter of close()'s deadline, at most 1 s, taken from the end of it: the jobs are
 * aborted that long before the deadline and handed back at it whether or not their handlers stopped.
 */
export function letGoAfterMs(abortedBy: 'timeout' | 'shutdown', ms: number): number {
  return abortedBy === 'timeout'
    ? Math.min(ms, TIMEOUT_GRACE_MAX_MS)
    : Math.min(Math.floor(ms / 4), SHUTDOWN_GRACE_MAX_MS);
}

interface InFlight {
  job: Job;
  controller: AbortController;
  settled: Promise<unknown>;
  /** Lets the job go at once, its handler stopped or not (the end of close()'s deadline). */
  letGo: () => void;
  /** Settles once the job may be let go. */
  released: Promise<void>;
}

/**
 * True when `settled` settles first; false when `released` does, or `ms` passes (if given) — the job
 * is let go with its handler still running.
 */
async function stopsWithin(
  settled: Promise<unknown>,
  released: Promise<void>,
  ms?: number,
): Promise<boolean> {
  const grace = ms === undefined ? undefined : after(ms);
  try {
    return await Promise.race([
      settled.then(() => true),
      released.then(() => false),
      ...(grace ? [grace.then(() => false)] : []),
    ]);
  } finally {
    grace?.cancel();
  }
}

/** Resolves 'deadline' after `ms`, unless cancelled first. */
function after(ms: number): Promise<'deadline'> & { cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const p = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => resolve('deadline'), ms);
  });
  return Object.assign(p, { cancel: () => clearTimeout(timer) });
}

/**
 * Runs the workers for the queues whose role was asked for. Shutdown (`close(deadlineMs)`):
 * stop fetching at once; let running jobs finish until shortly before the deadline; any still running
 * then are aborted and, once their handlers have stopped or at the deadline, moved back to the queue
 * (`moveToDelayed` now + DelayedError, no try consumed), so a job in flight during shutdown is either
 * completed or run again — never dropped, nor left to stall when the process is cut off.
 *
 * An aborted try (its timeout, or shutdown) is let go once its handler has stopped, or after a short
 * grace if it does not (`letGoAfterMs`): a retry does not start beside a handler about to stop, and
 * a handler that hangs holds neither its job nor close() for longer than the grace.
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
    let letGo = () => {};
    const released = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    const entry: InFlight = { job, controller, settled: work.catch(() => {}), letGo, released };
    this.inFlight.add(entry);
    try {
      return await Promise.race([work, aborted]);
    } catch (err) {
      if (err === SHUTDOWN || err === TIMEOUT) {
        // Aborted: the handler may not have stopped (one that ignores its signal runs on). Its job is
        // let go — failed for a retry, handed back for another process — once it has, or after a
        // short grace all the same (see letGoAfterMs: why a retry beside a hung handler is safe).
        const abortedBy = err === TIMEOUT ? 'timeout' : 'shutdown';
        const where = { queue: job.queueName, job: job.name, jobId: job.id, abortedBy };
        log.warn(where, 'job aborted: waiting for its handler to stop before the job runs again');
        // At shutdown close() bounds the wait (it lets the job go at its deadline).
        const graceMs = err === TIMEOUT ? letGoAfterMs('timeout', spec.timeoutMs) : undefined;
        if (!(await stopsWithin(entry.settled, released, graceMs)))
          log.warn(where, 'job let go while its handler still runs: it runs again beside it');
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
    const graceMs = letGoAfterMs('shutdown', deadlineMs);
    const abortAt = after(deadlineMs - graceMs);
    const first = await Promise.race([closing.then(() => 'closed' as const), abortAt]);
    abortAt.cancel();
    let handedBack = 0;
    if (first === 'deadline') {
      handedBack = this.inFlight.size;
      const running = [...this.inFlight];
      for (const entry of running) entry.controller.abort(SHUTDOWN);
      // Handlers that stop within the grace are waited for (the process closes its store and Redis
      // next); at the deadline every job still held is handed back all the same: the process is cut
      // off soon after (the worker child killed at its deadline), and a job it still held would count
      // as stalled — twice, and it fails for good.
      const stopped = Promise.all(running.map((entry) => entry.settled));
      const deadline = after(graceMs);
      if ((await Promise.race([stopped.then(() => 'stopped' as const), deadline])) === 'deadline')
        for (const entry of running) entry.letGo();
      deadline.cancel();
      await closing;
    }
    return { handedBack };
  }
}
