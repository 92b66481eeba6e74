import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { type escalate, firstStepHere } from '../../jobs/escalate.ts';
import { handlers } from '../../jobs/index.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { FIRST_STEP_NET_MS } from '../../src/alarms/ingest-groups.ts';
import type { FirstStepTaker, IngestDeps } from '../../src/alarms/ingest-types.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { timelineOf } from '../../src/store/alarm-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';

/**
 * The ingest role takes a new alarm's first escalation step itself, right after the commit
 * (`firstStepHere`), and queues the alarm's escalate job delayed as the safety net. Real PostgreSQL
 * and Redis; no worker runs unless a test starts one.
 */
const schema = uniqueName('firststep');
const prefix = uniqueName('firststep');
const log = createLogger({ level: 'silent' });
const config = configWith({
  school: `    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [board] }
          - { afterMinutes: 2, notify: [board] }
`,
});
const school = config.schools[0]!;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let deps: JobDeps;
const hosts: WorkerHost<typeof catalog, JobDeps>[] = [];
let n = 0;

async function raise(firstStep?: IngestDeps['firstStep']): Promise<string> {
  n++;
  const r = await ingestFobEvent(
    { db, producer, publisher: conn, prefix, ...(firstStep ? { firstStep } : {}) },
    school,
    fobEvent(`first-${n}`),
    { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
  );
  return (r as { alarmId: string }).alarmId;
}

/** The ingest role's workers (they run the alarms queue), stopped after each test. */
function startWorkers(): WorkerHost<typeof catalog, JobDeps> {
  const h = new WorkerHost({
    catalog,
    handlers,
    deps,
    roles: ['ingest'],
    redis: { url: TEST_REDIS_URL },
    prefix,
    log,
  });
  h.run();
  hosts.push(h);
  return h;
}

const firstJob = async (alarmId: string) => producer.queueFor('escalate').getJob(`escalate-${alarmId}-0`);

async function level1(alarmId: string): Promise<{ notifications: number; timeline: number; step: number }> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM notifications WHERE alarm_id = $1 AND step = 0',
    [alarmId],
  );
  const { rows: a } = await db.query<{ escalation_step: number }>(
    'SELECT escalation_step FROM alarms WHERE id = $1',
    [alarmId],
  );
  return {
    notifications: rows[0]!.n,
    timeline: (await timelineOf(db, alarmId)).filter((t) => t.event.startsWith('level 1')).length,
    step: a[0]!.escalation_step,
  };
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  deps = { db, log, producer, now: () => new Date(), instance: 't', config, publisher: conn };
});
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close(1000)));
});
afterAll(async () => {
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('the first escalation step, taken where the alarm was accepted', () => {
  it('pages level 1 with no worker running, its job waiting delayed as the safety net', async () => {
    const id = await raise(firstStepHere(deps));
    await until(async () => (await level1(id)).step === 1, 10_000, 'level 1 taken here');
    expect(await level1(id)).toEqual({ notifications: 1, timeline: 1, step: 1 });
    const job = await firstJob(id);
    expect(await job!.getState()).toBe('delayed');
    expect(job!.opts.delay).toBe(FIRST_STEP_NET_MS);
  });

  it('without it (the web role), the job runs the first step at once', async () => {
    const id = await raise();
    const job = await firstJob(id);
    expect(await job!.getState()).toBe('waiting');
    expect((await level1(id)).step).toBe(0);
  });

  it('a first step that fails here brings its job forward, which takes the step once', async () => {
    const failing: typeof escalate = async () => {
      throw new Error('the database went away');
    };
    const id = await raise(firstStepHere(deps, failing));
    await until(async () => (await (await firstJob(id))!.getState()) === 'waiting', 10_000, 'job promoted');
    expect((await level1(id)).step).toBe(0);
    startWorkers();
    await until(async () => (await level1(id)).step === 1, 10_000, 'level 1 taken by the job');
    expect(await level1(id)).toEqual({ notifications: 1, timeline: 1, step: 1 });
  });

  it('the step here and its job racing page level 1 once', async () => {
    const h = startWorkers();
    await h.waitUntilReady();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      // The safety net's job promoted at once: a worker runs it while the step here runs too.
      const here = firstStepHere(deps);
      const race: FirstStepTaker = {
        reserve: (alarmIds) => here.reserve(alarmIds),
        take: (alarmIds, queued) => {
          here.take(alarmIds, queued);
          void queued.then(async () => {
            for (const a of alarmIds) await (await firstJob(a))?.promote();
          });
        },
      };
      ids.push(await raise(race));
    }
    for (const id of ids) {
      await until(async () => (await (await firstJob(id))!.getState()) === 'completed', 10_000, 'job done');
      await until(async () => (await level1(id)).step === 1, 10_000, 'level 1 taken');
      expect(await level1(id)).toEqual({ notifications: 1, timeline: 1, step: 1 });
    }
    // The next step was queued once, delayed by the ladder's 2 minutes.
    const next = await producer.queueFor('escalate').getJob(`escalate-${ids[0]}-1`);
    expect(await next!.getState()).toBe('delayed');
  });

  it('takes at most as many at once as the alarms queue runs; the rest are left to their jobs', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const started: string[] = [];
    const slow: typeof escalate = async (p) => {
      started.push(p.alarmId);
      await gate;
      return { outcome: 'held' };
    };
    const here = firstStepHere(deps, slow);
    const ids = Array.from({ length: 20 }, (_, i) => String(9000 + i));
    const mine = here.reserve(ids);
    expect(mine).toEqual(ids.slice(0, catalog.queues.alarms.concurrency));
    expect(here.reserve(['9100'])).toEqual([]); // full until these end
    here.take(mine, Promise.resolve());
    let settled = false;
    const waiting = here.settled(60_000).then(() => {
      settled = true;
    });
    await until(() => started.length === mine.length, 10_000, 'the steps started');
    expect(settled).toBe(false); // shutdown waits for the steps in flight
    release();
    await waiting;
    expect(here.reserve(['9101'])).toEqual(['9101']);
  });

  it('never takes a step here when its safety-net job could not be queued', async () => {
    const started: string[] = [];
    const spy: typeof escalate = async (p) => {
      started.push(p.alarmId);
      return { outcome: 'taken' };
    };
    const here = firstStepHere(deps, spy);
    const mine = here.reserve(['9200']);
    here.take(mine, Promise.reject(new Error('Redis refused the write')));
    await here.settled(10_000);
    expect(started).toEqual([]);
    expect(here.reserve(['9201'])).toEqual(['9201']); // its room given back
  });
});
