import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createLogger } from '../../src/log/logger.ts';
import { type Catalog, defineJob } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { type Handlers, WorkerHost } from '../../src/queue/worker-host.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';

/** A test catalog exercising the host machinery with jobs whose timing the test controls. */
const testCatalog = {
  queues: { work: { role: 'worker', concurrency: 2 }, alarms: { role: 'ingest', concurrency: 1 } },
  jobs: {
    slow: defineJob({
      queue: 'work',
      description: 'runs for payload.ms unless aborted',
      payload: z.strictObject({ ms: z.int().min(0), key: z.string() }),
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 50 },
      timeoutMs: 60_000,
    }),
    limited: defineJob({
      queue: 'work',
      description: 'never finishes; its timeout must fail the try',
      payload: z.strictObject({ key: z.string() }),
      attempts: 2,
      backoff: { type: 'fixed', delayMs: 10 },
      timeoutMs: 200,
    }),
    quoting: defineJob({
      queue: 'work',
      description: 'fails as a database data exception does, quoting the bad value',
      payload: z.strictObject({ key: z.string() }),
      attempts: 1,
      backoff: { type: 'fixed', delayMs: 10 },
      timeoutMs: 1000,
    }),
    overrunning: defineJob({
      queue: 'alarms',
      description: 'runs on past its timeout, its signal ignored (as a handler taking `_run` does)',
      payload: z.strictObject({ key: z.string() }),
      attempts: 2,
      backoff: { type: 'fixed', delayMs: 10 },
      timeoutMs: 100,
    }),
    holding: defineJob({
      queue: 'alarms',
      description: 'runs on past a shutdown, its signal ignored',
      payload: z.strictObject({ key: z.string() }),
      attempts: 2,
      backoff: { type: 'fixed', delayMs: 10 },
      timeoutMs: 60_000,
    }),
    ingestOnly: defineJob({
      queue: 'alarms',
      description: 'runs only where the ingest role runs',
      payload: z.strictObject({ key: z.string() }),
      attempts: 1,
      backoff: { type: 'fixed', delayMs: 10 },
      timeoutMs: 1000,
    }),
  },
} satisfies Catalog;

interface Deps {
  runs: Map<string, number>;
  finished: Map<string, number>;
  /** For a handler that ignores its signal: how many of its tries run at once, and when it stops. */
  stubborn?: Stubborn;
}

interface Stubborn {
  runs: number;
  running: number;
  maxRunning: number;
  /** Its first try, once aborted, runs on until this settles. */
  until: () => Promise<unknown>;
}

/** The first try waits for its abort, ignores it, and runs on until told; later tries end at once. */
async function stubborn(run: { signal: AbortSignal }, s: Stubborn): Promise<void> {
  s.runs++;
  s.running++;
  s.maxRunning = Math.max(s.maxRunning, s.running);
  try {
    if (s.runs > 1) return;
    await new Promise((aborted) => run.signal.addEventListener('abort', aborted, { once: true }));
    await s.until();
  } finally {
    s.running--;
  }
}

/** Ends after `ms`, or at once when `signal` is aborted (a handler honouring its signal). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

const handlers: Handlers<typeof testCatalog, Deps> = {
  slow: async ({ ms, key }, run, deps) => {
    deps.runs.set(key, (deps.runs.get(key) ?? 0) + 1);
    await sleep(ms, run.signal);
    if (run.signal.aborted) return 'aborted';
    deps.finished.set(key, (deps.finished.get(key) ?? 0) + 1);
    return 'done';
  },
  limited: async ({ key }, run, deps) => {
    deps.runs.set(key, (deps.runs.get(key) ?? 0) + 1);
    await sleep(60_000, run.signal);
  },
  quoting: async ({ key }) => {
    throw Object.assign(new Error(`invalid input syntax for type integer: "${key}"`), { code: '22P02' });
  },
  overrunning: (_p, run, deps) => stubborn(run, deps.stubborn!),
  holding: (_p, run, deps) => stubborn(run, deps.stubborn!),
  ingestOnly: async ({ key }, _run, deps) => {
    deps.finished.set(key, 1);
  },
};

/** What the host says (warnings and worse): a test waits on it, never on a clock. */
const said = new EventEmitter();
const log = createLogger(
  { level: 'warn' },
  { write: (line: string) => void said.emit('line', JSON.parse(line)) },
);
interface Said {
  msg?: string;
  [field: string]: unknown;
}
/** Settles with the line when the host next logs one matching `msg` (ask before it can be said). */
const whenSaid = (msg: RegExp) =>
  new Promise<Said>((resolve) => {
    const heard = (line: Said) => {
      if (!msg.test(line.msg ?? '')) return;
      said.off('line', heard);
      resolve(line);
    };
    said.on('line', heard);
  });
const redis = { url: TEST_REDIS_URL };
let prefix: string;
let conn: Redis;
let producer: Producer<typeof testCatalog>;
const hosts: WorkerHost<typeof testCatalog, Deps>[] = [];

function startHost(deps: Deps, roles: ('worker' | 'ingest')[] = ['worker']) {
  const host = new WorkerHost({
    catalog: testCatalog,
    handlers,
    deps,
    roles,
    redis,
    prefix,
    log,
    workerOptions: { lockDuration: 2000, stalledInterval: 1000 },
  });
  host.run();
  hosts.push(host);
  return host;
}

beforeAll(async () => {
  prefix = uniqueName('wh');
  conn = await connectRedis(redis, 'producer');
  producer = new Producer(testCatalog, conn, prefix);
});

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close(0)));
});

afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
});

describe('WorkerHost', () => {
  it('refuses an invalid payload before it reaches Redis', async () => {
    await expect(producer.enqueue('slow', { ms: -1, key: 'x' } as never)).rejects.toMatchObject({
      code: 'DOORSTEP_JOB_PAYLOAD_INVALID',
      details: [expect.stringMatching(/^ms: /)],
    });
    expect(await producer.queueFor('slow').count()).toBe(0);
  });

  it('completes a job in flight when shutdown has time', async () => {
    const deps: Deps = { runs: new Map(), finished: new Map() };
    const host = startHost(deps);
    const job = await producer.enqueue('slow', { ms: 600, key: 'graceful' });
    await until(() => deps.runs.get('graceful') === 1);
    const report = await host.close(5000);
    expect(report.handedBack).toBe(0);
    expect(deps.finished.get('graceful')).toBe(1);
    expect(await producer.queueFor('slow').getJobState(job.id!)).toBe('completed');
  });

  it('hands a job in flight back at the deadline, and it runs again (never dropped)', async () => {
    const deps: Deps = { runs: new Map(), finished: new Map() };
    const host = startHost(deps);
    const job = await producer.enqueue('slow', { ms: 1500, key: 'handed-back' });
    await until(() => deps.runs.get('handed-back') === 1);
    const report = await host.close(100);
    expect(report.handedBack).toBe(1);
    expect(deps.finished.get('handed-back')).toBeUndefined();
    const state = await producer.queueFor('slow').getJobState(job.id!);
    expect(['delayed', 'waiting']).toContain(state);

    // A new process picks it up and completes it; the handed-back try was not counted as a failure.
    startHost(deps);
    await until(async () => (await producer.queueFor('slow').getJobState(job.id!)) === 'completed');
    expect(deps.runs.get('handed-back')).toBe(2);
    expect(deps.finished.get('handed-back')).toBe(1);
    const done = await producer.queueFor('slow').getJob(job.id!);
    // attemptsMade counts the completed try only: the handed-back try used none of the job's attempts.
    expect(done?.attemptsMade).toBe(1);
  });

  it('fails a try that exceeds its timeout and retries it up to its attempts', async () => {
    const deps: Deps = { runs: new Map(), finished: new Map() };
    startHost(deps);
    const job = await producer.enqueue('limited', { key: 'timeout' });
    await until(async () => (await producer.queueFor('limited').getJobState(job.id!)) === 'failed');
    const failed = await producer.queueFor('limited').getJob(job.id!);
    expect(failed?.attemptsMade).toBe(2);
    expect(failed?.failedReason).toMatch(/exceeded its 200 ms timeout/);
    expect(deps.runs.get('timeout')).toBe(2);
  });

  it('runs no retry of a timed-out try while that try still runs (it ignores its signal)', async () => {
    const waiting = whenSaid(/waiting for its handler to stop/);
    const s: Stubborn = { runs: 0, running: 0, maxRunning: 0, until: () => Promise.race([waiting, retried]) };
    // Released by its retry starting beside it (the fault), or by the host saying it waits for it.
    const retried = until(() => s.runs >= 2, 30_000, 'a retry');
    startHost({ runs: new Map(), finished: new Map(), stubborn: s }, ['ingest']);
    const job = await producer.enqueue('overrunning', { key: 'overrun' });
    await until(async () => (await producer.queueFor('overrunning').getJobState(job.id!)) === 'completed');
    expect(s.maxRunning).toBe(1);
    expect(s.runs).toBe(2);
    // The timed-out try counted as a failed one: its retry was the job's last try.
    expect((await producer.queueFor('overrunning').getJob(job.id!))?.attemptsMade).toBe(2);
  });

  it('fails a timed-out try after a short grace when its handler hangs, and its retry runs', async () => {
    // The handler ignores its signal and hangs (a statement on a silent connection) until its retry
    // has run beside it; a deadlock breaker ends it if the retry never comes (the fault).
    const letGo = whenSaid(/let go while its handler still runs/);
    const s: Stubborn = {
      runs: 0,
      running: 0,
      maxRunning: 0,
      until: () => until(() => s.runs >= 2, 15_000, 'its retry').catch(() => {}),
    };
    startHost({ runs: new Map(), finished: new Map(), stubborn: s }, ['ingest']);
    const job = await producer.enqueue('overrunning', { key: 'Okafor-hung' });
    await until(async () => (await producer.queueFor('overrunning').getJobState(job.id!)) === 'completed');
    // Its retry ran while the hung try still held on: the try was failed without waiting for it.
    expect(s.maxRunning).toBe(2);
    expect((await producer.queueFor('overrunning').getJob(job.id!))?.attemptsMade).toBe(2);
    const line = await letGo;
    expect(line).toMatchObject({ queue: 'alarms', jobId: job.id, abortedBy: 'timeout' });
    expect(JSON.stringify(line)).not.toContain('Okafor');
  });

  it('returns from close() once a handler aborted at shutdown has stopped, then hands its job back', async () => {
    const waiting = whenSaid(/waiting for its handler to stop/);
    let closed = false;
    let closedWhileRunning: boolean | undefined;
    let closing: Promise<unknown> = new Promise(() => {});
    const s: Stubborn = {
      runs: 0,
      running: 0,
      maxRunning: 0,
      // Released by close() returning under it (the fault), or by the host saying it waits for it.
      until: async () => {
        await Promise.race([waiting, closing]);
        closedWhileRunning = closed;
      },
    };
    const deps: Deps = { runs: new Map(), finished: new Map(), stubborn: s };
    const host = startHost(deps, ['ingest']);
    const job = await producer.enqueue('holding', { key: 'hold' });
    await until(() => s.running === 1, 10_000, 'the job to start');
    closing = host.close(400).then((report) => {
      closed = true;
      return report;
    });
    const report = (await closing) as { handedBack: number };
    expect(closedWhileRunning).toBe(false);
    expect(s.running).toBe(0);
    expect(report.handedBack).toBe(1);
    expect(['delayed', 'waiting']).toContain(await producer.queueFor('holding').getJobState(job.id!));
    // Handed back, not failed: another process runs it, on the job's first try still.
    startHost(deps, ['ingest']);
    await until(async () => (await producer.queueFor('holding').getJobState(job.id!)) === 'completed');
    expect(s.runs).toBe(2);
    expect((await producer.queueFor('holding').getJob(job.id!))?.attemptsMade).toBe(1);
  });

  it('hands a job back by the shutdown deadline even while its handler hangs, so it never stalls', async () => {
    const handedBack = whenSaid(/handed back at shutdown/);
    let runningWhenHandedBack: number | undefined;
    void handedBack.then(() => {
      runningWhenHandedBack = s.running;
    });
    // Hangs, its signal ignored, until its job has been handed back; a deadlock breaker ends it if
    // close() waits for it instead (the fault).
    const s: Stubborn = {
      runs: 0,
      running: 0,
      maxRunning: 0,
      until: () => Promise.race([handedBack, sleep(15_000)]),
    };
    const deps: Deps = { runs: new Map(), finished: new Map(), stubborn: s };
    const host = startHost(deps, ['ingest']);
    const job = await producer.enqueue('holding', { key: 'hung' });
    await until(() => s.running === 1, 10_000, 'the job to start');
    const letGo = whenSaid(/let go while its handler still runs/);
    const report = await host.close(400);
    expect(report.handedBack).toBe(1);
    expect(runningWhenHandedBack).toBe(1);
    expect(await letGo).toMatchObject({ queue: 'alarms', jobId: job.id, abortedBy: 'shutdown' });
    expect(['delayed', 'waiting']).toContain(await producer.queueFor('holding').getJobState(job.id!));
    // Handed back, not stalled: another process runs it on its first try.
    startHost(deps, ['ingest']);
    await until(async () => (await producer.queueFor('holding').getJobState(job.id!)) === 'completed');
    expect((await producer.queueFor('holding').getJob(job.id!))?.attemptsMade).toBe(1);
  });

  it('reruns a job under its own id: a failed one with its tries afresh or on its last, a lost one anew', async () => {
    const deps: Deps = { runs: new Map(), finished: new Map() };
    startHost(deps);
    const queue = producer.queueFor('limited');
    const failedState = async (id: string, runs: number) => {
      await until(async () => (await queue.getJobState(id)) === 'failed' && deps.runs.get(id) === runs);
    };

    // Failed after both tries; rerun with fresh tries runs it twice more, under the same id.
    await producer.enqueue('limited', { key: 'fresh' }, { jobId: 'fresh' });
    await failedState('fresh', 2);
    expect(await producer.rerun('limited', { key: 'fresh' }, 'fresh', { freshTries: true })).toBe('queued');
    await failedState('fresh', 4);
    expect((await queue.getJob('fresh'))?.attemptsMade).toBe(2);

    // Without fresh tries it is on its last: one more run, then failed again.
    await producer.enqueue('limited', { key: 'last' }, { jobId: 'last' });
    await failedState('last', 2);
    expect(await producer.rerun('limited', { key: 'last' }, 'last')).toBe('queued');
    await failedState('last', 3);

    // Still in hand: nothing added. Lost (removed from Redis): queued anew under its id.
    await producer.enqueue('limited', { key: 'held' }, { jobId: 'held', delayMs: 60_000 });
    expect(await producer.rerun('limited', { key: 'held' }, 'held')).toBe('running');
    expect(await queue.getJobState('held')).toBe('delayed');
    await (await queue.getJob('held'))?.remove();
    expect(await producer.rerun('limited', { key: 'held' }, 'held')).toBe('queued');
    await failedState('held', 2);
  });

  it("keeps the value a database data exception quotes out of the failed job's reason and stack in Redis", async () => {
    const deps: Deps = { runs: new Map(), finished: new Map() };
    startHost(deps);
    const job = await producer.enqueue('quoting', { key: 'Okonkwo-Clarke' });
    await until(async () => (await producer.queueFor('quoting').getJobState(job.id!)) === 'failed');
    const failed = await producer.queueFor('quoting').getJob(job.id!);
    expect(failed?.failedReason).toBe('invalid input syntax for type integer: "[redacted]"');
    expect(JSON.stringify(failed?.stacktrace)).not.toContain('Okonkwo');
  });

  it('runs only the queues of the roles asked for', async () => {
    const deps: Deps = { runs: new Map(), finished: new Map() };
    const workerOnly = startHost(deps, ['worker']);
    expect(workerOnly.workers.map((w) => w.name)).toEqual(['work']);
    const job = await producer.enqueue('ingestOnly', { key: 'ingest' });
    await sleep(300);
    expect(await producer.queueFor('ingestOnly').getJobState(job.id!)).toBe('waiting');
    startHost(deps, ['ingest']);
    await until(() => deps.finished.get('ingest') === 1);
  });

  it('rejects a payload that was tampered with in Redis without retrying it', async () => {
    const deps: Deps = { runs: new Map(), finished: new Map() };
    startHost(deps);
    const job = await producer.queueFor('slow').add('slow', { ms: 'soon' }, { attempts: 3 });
    await until(async () => (await producer.queueFor('slow').getJobState(job.id!)) === 'failed');
    const failed = await producer.queueFor('slow').getJob(job.id!);
    expect(failed?.failedReason).toMatch(/DOORSTEP_JOB_PAYLOAD_INVALID.*ms, key/);
    expect(failed?.attemptsMade).toBe(1);
  });
});
