import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DELIVERY_CLAIM_MS } from '../../jobs/deliver-record.ts';
import type { JobDeps } from '../../jobs/deps.ts';
import { handlers } from '../../jobs/index.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis, redisOptions } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { claimWaitMs, dismissOutbox, failedIds, listOutbox, openAlerts } from '../../src/store/outbox.ts';
import { configWith } from '../helpers/config.ts';
import { type FakeCpoms, startFakeCpoms } from '../helpers/fake-cpoms.ts';
import { insertTestRecords } from '../helpers/outbox.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

/**
 * relay-outbox's sweep: a live record whose delivery job ended without a verdict (its worker died in
 * flight, the job vanished) is queued once more under a fresh job id, and failed loudly after a
 * second loss — never left `pending` for ever; a job still alive is never doubled.
 */
const schema = uniqueName('relay');
const prefix = uniqueName('relay');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let fake: FakeCpoms;
const log = createLogger({ level: 'silent' });
const workers: Worker[] = [];

const config = () =>
  configWith({
    records: `{ sink: cpoms, baseUrl: "${fake.url}", token: "\${CPOMS_TOKEN}", ratePerSecond: 1000, timeoutMs: 1000 }`,
    env: { CPOMS_TOKEN: 'good-token' },
  });
const deps = (): JobDeps => ({ db, log, producer, now: () => new Date(), instance: 't', config: config() });
const relay = (reason: 'schedule' | 'after-write' = 'schedule') =>
  handlers['relay-outbox']!(
    { reason },
    { id: 'r', name: 'relay-outbox', attempt: 1, maxAttempts: 1, signal: new AbortController().signal },
    deps(),
  ) as Promise<{ enqueued: number; requeued: number; lost: number }>;
const queue = () => producer.queueFor('deliver-record');
const statusOf = async () => (await listOutbox(db))[0]!;

async function until(what: string, test: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A worker that fails every delivery job without touching its record (as a crash would leave it). */
function crashingWorker(): Worker {
  const w = new Worker(
    'records',
    async (): Promise<unknown> => {
      throw new UnrecoverableError('simulated: the process died');
    },
    { connection: redisOptions({ url: TEST_REDIS_URL }, 'worker'), prefix },
  );
  workers.push(w);
  return w;
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  fake = await startFakeCpoms({ token: 'good-token', seed: 7 });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close(true)));
  await fake.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});
beforeEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close(true)));
  await queue().obliterate({ force: true });
  await db.query('DELETE FROM outbox');
  await db.query('DELETE FROM alerts');
  fake.incidents.clear();
  fake.created = 0;
  fake.requests = 0;
});

describe('relay-outbox sweep of lost delivery jobs', () => {
  it('leaves a record whose job is still waiting alone: no second job', async () => {
    await insertTestRecords(db, 1, 'cpoms', 'waiting');
    expect(await relay()).toMatchObject({ enqueued: 1, requeued: 0, lost: 0 });
    expect(await relay()).toMatchObject({ enqueued: 0, requeued: 0, lost: 0 });
    const { id } = await statusOf();
    expect(await queue().getJobState(`deliver-${id}-g0`)).toBe('waiting');
    expect(await queue().getJob(`deliver-${id}-g0-r1`)).toBeUndefined();
  });

  it('a job BullMQ failed as stalled (its worker died mid-delivery) is queued once more and delivered', async () => {
    await insertTestRecords(db, 1, 'cpoms', 'stalled');
    await relay();
    const { id } = await statusOf();
    // A worker takes the job and dies holding it: its lock is never renewed.
    const dying = new Worker('records', null, {
      connection: redisOptions({ url: TEST_REDIS_URL }, 'worker'),
      prefix,
      lockDuration: 300,
    });
    workers.push(dying);
    const taken = (await dying.getNextJob('dead-worker-token')) as Job | undefined;
    expect(taken?.id).toBe(`deliver-${id}-g0`);
    // The live worker's stall check fails it ("job stalled more than allowable limit"), no handler run.
    const host = new WorkerHost({
      catalog,
      handlers,
      deps: deps(),
      roles: ['worker'],
      redis: { url: TEST_REDIS_URL },
      prefix,
      log,
      workerOptions: { stalledInterval: 200, maxStalledCount: 0 },
    });
    host.run();
    try {
      await until(
        'the stalled job to fail',
        async () => (await queue().getJobState(`deliver-${id}-g0`)) === 'failed',
      );
      expect((await queue().getJob(`deliver-${id}-g0`))!.failedReason).toMatch(/stalled/);
      expect((await statusOf()).status).toBe('pending');

      expect(await relay()).toMatchObject({ enqueued: 0, requeued: 1, lost: 0 });
      expect((await statusOf()).lastError).toBe(
        `delivery job deliver-${id}-g0 ended: its worker stopped while delivering it; queued again as deliver-${id}-g0-r1`,
      );
      await until('the record to be delivered', async () => (await statusOf()).status === 'delivered');
      expect(fake.created).toBe(1);
      // Nothing more to do: a delivered record is not swept.
      expect(await relay()).toMatchObject({ requeued: 0, lost: 0 });
    } finally {
      await host.close(2000);
    }
  });

  it('a job gone from the queue is queued again under a fresh id', async () => {
    await insertTestRecords(db, 1, 'cpoms', 'gone');
    await relay();
    const { id } = await statusOf();
    await queue().remove(`deliver-${id}-g0`);
    expect(await relay()).toMatchObject({ requeued: 1, lost: 0 });
    expect(await queue().getJobState(`deliver-${id}-g0-r1`)).toBe('waiting');
    // Queued again once: another sweep while that job waits adds nothing.
    expect(await relay()).toMatchObject({ requeued: 0, lost: 0 });
    // The first job brought back by hand (the queue page's retry) now leaves the record to its
    // replacement: two at once would post twice to a sink that keeps no idempotency key.
    const broughtBack = await handlers['deliver-record']!(
      { outboxId: id },
      {
        id: `deliver-${id}-g0`,
        name: 'deliver-record',
        attempt: 1,
        maxAttempts: 10,
        signal: new AbortController().signal,
      },
      deps(),
    );
    expect(broughtBack).toEqual({ status: 'superseded' });
    expect(fake.created).toBe(0);
  });

  it('a record whose job is lost twice is failed with an alert, for resend-failed — and not dismissed while a job may still be sending it', async () => {
    await insertTestRecords(db, 1, 'cpoms', 'twice');
    await relay();
    const { id } = await statusOf();
    crashingWorker();
    await until(
      'the first job to fail',
      async () => (await queue().getJobState(`deliver-${id}-g0`)) === 'failed',
    );
    expect(await relay()).toMatchObject({ requeued: 1, lost: 0 });
    await until(
      'the second job to fail',
      async () => (await queue().getJobState(`deliver-${id}-g0-r1`)) === 'failed',
    );
    expect(await relay()).toMatchObject({ requeued: 0, lost: 1 });
    const row = await statusOf();
    expect(row.status).toBe('failed');
    expect(row.lastError).toBe(
      `delivery jobs deliver-${id}-g0 and deliver-${id}-g0-r1 both ended without a verdict (it failed without reaching a verdict; then it failed without reaching a verdict); check cpoms for the record before resending`,
    );
    expect(await failedIds(db)).toEqual([id]);
    const alerts = await openAlerts(db, 'alpha');
    expect(alerts.map((a) => a.message)).toEqual([
      `Record #${id} (trigger_note) to cpoms failed: ${row.lastError}`,
    ]);
    expect(fake.requests).toBe(0);
    // A job failed as stalled may still be running, its request still landing: the record is held
    // as being sent for a delivery's claim, and is not dismissed meanwhile (it may yet arrive).
    expect(await claimWaitMs(db, id)).toBeGreaterThan(DELIVERY_CLAIM_MS - 5_000);
    expect(await dismissOutbox(db, id, 'user:1', 'recorded by hand in CPOMS')).toMatchObject({
      status: 'may-still-land',
      sink: 'cpoms',
    });
    await db.query(`UPDATE outbox SET delivering_until = now() - interval '1 second' WHERE id = $1`, [id]);
    expect(await dismissOutbox(db, id, 'user:1', 'recorded by hand in CPOMS')).toBe(true);
  });

  it('a relay after a write does not sweep (the schedule does, every 5 s)', async () => {
    await insertTestRecords(db, 1, 'cpoms', 'after-write');
    await relay('after-write');
    const { id } = await statusOf();
    await queue().remove(`deliver-${id}-g0`);
    expect(await relay('after-write')).toMatchObject({ requeued: 0, lost: 0 });
    expect(await relay('schedule')).toMatchObject({ requeued: 1 });
  });
});
