import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { handOverEvaluations, REHAND_OVER_FOR_MS } from '../../jobs/sync-attendance.ts';
import { createLogger } from '../../src/log/logger.ts';
import { EVALUATION_CHUNK } from '../../src/queue/catalog.ts';
import { markChunkEvaluated } from '../../src/store/imports.ts';
import { createSession, type User } from '../../src/store/users.ts';
import { configWith } from '../helpers/config.ts';
import { failEvaluationTries, evaluationJobId as jobId, notEvaluated } from '../helpers/evaluation-jobs.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';
import { addUser, buildWebApp } from '../helpers/web.ts';

/**
 * An import's trigger evaluation not done is handed over again by syncs for a day counted from the
 * first time a sync did so — not from the import — then given up once, and the data manager sees it.
 * Time is the clock handed in (`now`), never waited for.
 */
const s = storeAndQueue('evalwindow');
const HOUR = 60 * 60_000;
const t0 = new Date('2026-12-07T09:00:00Z');
let clock = t0;
const lines: { msg?: string; importId?: string; chunks?: number[] }[] = [];
const givenUp = () => lines.filter((l) => /given up/.test(l.msg ?? ''));
const config = configWith();
let app: FastifyInstance;
let dm: User;

function deps(): JobDeps {
  return {
    db: s.db,
    log: createLogger({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
    producer: s.producer,
    now: () => clock,
    instance: 't',
    config,
  };
}

/** An applied import finished `finishedAgoMs` before t0, never handed over, with `changed` pupils. */
async function insertImport(school: string, unit: string, finishedAgoMs: number, changed: number) {
  const at = new Date(t0.getTime() - finishedAgoMs);
  const { rows } = await s.db.query<{ id: string }>(
    `INSERT INTO imports (school_id, source, unit, sha256, status, started_at, finished_at, changed_pupils)
     VALUES ($1, 'sims-xml', $2, NULL, 'applied', $3, $3,
             (SELECT jsonb_agg(g::text) FROM generate_series(1, $4::int) g))
     RETURNING id`,
    [school, unit, at, changed],
  );
  return String(rows[0]!.id);
}

/** Its jobs used all their tries (the database away), failing at the clock's time: nothing runs them again but a sync. */
async function fail(importId: string, chunks: number[]) {
  await failEvaluationTries(s, deps(), importId, chunks);
}

/** Its jobs lost with Redis (flushed, or back without its data): nothing runs them again but a sync. */
async function lose(importId: string, chunks: number[]) {
  const q = s.producer.queueFor('evaluate-triggers');
  for (const c of chunks) await (await q.getJob(jobId(importId, c)))?.remove();
}

/** Redis flushed: every key of this file's queues gone, as after Redis came back without its data. */
async function flushRedis() {
  const keys = await s.conn.keys(`${s.prefix}:*`);
  if (keys.length) await s.conn.del(...keys);
}

/** When the import's give-up window started. */
async function windowOf(importId: string): Promise<Date | null> {
  const { rows } = await s.db.query<{ evaluation_retried_from: Date | null }>(
    'SELECT evaluation_retried_from FROM imports WHERE id = $1',
    [importId],
  );
  return rows[0]!.evaluation_retried_from;
}

const stateOf = (importId: string, chunk = 0) =>
  s.producer.queueFor('evaluate-triggers').getJobState(jobId(importId, chunk));

async function dataPage(): Promise<string[]> {
  // Signed in at the clock's time (the app's clock).
  const session = await createSession(s.db, dm.id, HOUR, clock);
  const res = await app.inject({
    url: '/api/data?school=alpha',
    headers: { cookie: `doorstep_session=${session.token}` },
  });
  expect(res.statusCode).toBe(200);
  return res.json().evaluationsGivenUp;
}

beforeAll(async () => {
  app = await buildWebApp(config, s.db, { prefix: s.prefix, publisher: s.conn, now: () => clock });
  dm = await addUser(s.db, 'dm', ['data-manager']);
});
afterAll(async () => {
  await app?.close();
});

describe('the day an import’s trigger evaluation is handed over again', () => {
  it('starts when a sync first hands it over again, not at the import: an import the queue missed for a day gets its full day', async () => {
    clock = t0;
    lines.length = 0;
    // Applied 30 h ago while Redis was away a whole day: never handed over.
    const importId = await insertImport('gamma', 'away-all-day.xml', 30 * HOUR, 2);
    const q = s.producer.queueFor('evaluate-triggers');

    // The queue is back: the first sync hands it over, and does not give it up in the same breath.
    await handOverEvaluations(deps(), 'gamma');
    expect(await q.getJobState(jobId(importId, 0))).not.toBe('unknown');
    expect(givenUp()).toEqual([]);

    // Its job is lost; an hour on, a sync hands it over again: its day of tries starts now.
    await lose(importId, [0]);
    clock = new Date(t0.getTime() + HOUR);
    await handOverEvaluations(deps(), 'gamma');
    expect(await q.getJobState(jobId(importId, 0))).toBe('waiting');

    // Failed again just inside the day, and a sync then: still handed over, not given up.
    clock = new Date(t0.getTime() + HOUR + REHAND_OVER_FOR_MS - 60_000);
    await fail(importId, [0]);
    await handOverEvaluations(deps(), 'gamma');
    expect(await q.getJobState(jobId(importId, 0))).toBe('waiting');
    expect(givenUp()).toEqual([]);

    // Failed again, past the day from that first hand-over again: given up, said once.
    clock = new Date(t0.getTime() + HOUR + REHAND_OVER_FOR_MS + 60_000);
    await fail(importId, [0]);
    await handOverEvaluations(deps(), 'gamma');
    expect(await q.getJobState(jobId(importId, 0))).toBe('failed');
    expect(givenUp()).toMatchObject([{ importId, chunks: [0] }]);
    expect(await notEvaluated(s.db, 'gamma', EVALUATION_CHUNK)).toEqual([]);
  });

  it('a chunk that finishes after its import was given up counts as evaluated, and it is not said again', async () => {
    clock = t0;
    lines.length = 0;
    // Two chunks; neither is evaluated.
    const importId = await insertImport('beta', 'two-chunks.xml', HOUR, EVALUATION_CHUNK + 1);
    await handOverEvaluations(deps(), 'beta');
    await fail(importId, [0, 1]);
    await handOverEvaluations(deps(), 'beta');
    clock = new Date(t0.getTime() + REHAND_OVER_FOR_MS + HOUR);
    await fail(importId, [0, 1]);
    await handOverEvaluations(deps(), 'beta');
    expect(givenUp()).toMatchObject([{ importId, chunks: [0, 1] }]);

    // A job of chunk 0 still running then finishes.
    await markChunkEvaluated(s.db, importId, 0);
    const { rows } = await s.db.query<{ evaluated_chunks: number[] | null }>(
      'SELECT evaluated_chunks FROM imports WHERE id = $1',
      [importId],
    );
    expect(rows[0]!.evaluated_chunks).toEqual([0]);

    // Later syncs neither hand it over nor say it was given up again.
    clock = new Date(clock.getTime() + HOUR);
    await handOverEvaluations(deps(), 'beta');
    clock = new Date(clock.getTime() + HOUR);
    await handOverEvaluations(deps(), 'beta');
    expect(givenUp()).toHaveLength(1);
    expect(await notEvaluated(s.db, 'beta', EVALUATION_CHUNK)).toEqual([]);
    expect(await stateOf(importId, 1)).toBe('failed');
  });
});

describe('the data page', () => {
  it('says which import’s trigger evaluation was given up, when, and what evaluates its pupils', async () => {
    clock = t0;
    lines.length = 0;
    const importId = await insertImport('alpha', 'given-up.xml', HOUR, 1);
    expect(await dataPage()).toEqual([]);
    await handOverEvaluations(deps(), 'alpha');
    await fail(importId, [0]);
    await handOverEvaluations(deps(), 'alpha');
    // 10:00 UTC on 8 December is 10:00 in London: it fails again then, and a sync gives it up.
    clock = new Date('2026-12-08T10:00:00Z');
    await fail(importId, [0]);
    await handOverEvaluations(deps(), 'alpha');
    expect(givenUp()).toMatchObject([{ importId }]);

    const said = await dataPage();
    expect(said).toHaveLength(1);
    expect(said[0]).toBe(
      `Trigger evaluation for import ${importId} (given-up.xml) was given up at 2026-12-08 10:00 after a day of tries: no doorstep command evaluates one import again, so its pupils are evaluated by the nightly run at 02:30. If that cannot wait, the server's log says why it failed (import ${importId}).`,
    );

    // Once its chunk is evaluated after all, the page no longer says so.
    await markChunkEvaluated(s.db, importId, 0);
    expect(await dataPage()).toEqual([]);
  });
});

describe('Redis away more than a day after a chunk was handed over again', () => {
  const handedAgain = () => lines.filter((l) => /handed over again/.test(l.msg ?? ''));

  it('back without its data: the lost job is handed over again, not given up, and its day starts then', async () => {
    clock = t0;
    lines.length = 0;
    const importId = await insertImport('delta', 'lost-with-redis.xml', HOUR, 2);
    await handOverEvaluations(deps(), 'delta');
    // Its job uses all its tries; an hour on a sync hands it over again: its day starts.
    await fail(importId, [0]);
    clock = new Date(t0.getTime() + HOUR);
    await handOverEvaluations(deps(), 'delta');
    expect(await stateOf(importId)).toBe('waiting');

    // Redis is away 30 h and comes back without its data: the job is gone, never tried.
    await flushRedis();
    const back = t0.getTime() + 31 * HOUR;
    clock = new Date(back);
    await handOverEvaluations(deps(), 'delta');
    expect(givenUp()).toEqual([]);
    expect(await stateOf(importId)).toBe('waiting');
    expect(handedAgain().at(-1)).toMatchObject({ importId, chunk: 0, job: 'lost' });

    // A full day of tries from that hand-over: failing just inside it, handed over again.
    clock = new Date(back + REHAND_OVER_FOR_MS - 60_000);
    await fail(importId, [0]);
    await handOverEvaluations(deps(), 'delta');
    expect(await stateOf(importId)).toBe('waiting');
    expect(givenUp()).toEqual([]);

    // Failing past it: given up, said once.
    clock = new Date(back + REHAND_OVER_FOR_MS + 60_000);
    await fail(importId, [0]);
    await handOverEvaluations(deps(), 'delta');
    expect(await stateOf(importId)).toBe('failed');
    expect(givenUp()).toMatchObject([{ importId, chunks: [0] }]);
    clock = new Date(clock.getTime() + HOUR);
    await handOverEvaluations(deps(), 'delta');
    expect(givenUp()).toHaveLength(1);
  });

  it('back with its data: the job waiting untried is let run, not given up, and a failure of it then, past the day, gives it up', async () => {
    clock = t0;
    lines.length = 0;
    const importId = await insertImport('epsilon', 'waited-with-redis.xml', HOUR, 2);
    await handOverEvaluations(deps(), 'epsilon');
    await fail(importId, [0]);
    clock = new Date(t0.getTime() + HOUR);
    await handOverEvaluations(deps(), 'epsilon');
    expect(await stateOf(importId)).toBe('waiting');

    // Redis is away 30 h and comes back with its data: the job still waits, no worker took it. Its
    // tries are all to come: let run, not given up, and its day not started again.
    const back = t0.getTime() + 31 * HOUR;
    clock = new Date(back);
    await handOverEvaluations(deps(), 'epsilon');
    expect(givenUp()).toEqual([]);
    expect(await stateOf(importId)).toBe('waiting');
    expect((await s.producer.queueFor('evaluate-triggers').getJob(jobId(importId, 0)))?.attemptsMade).toBe(0);
    expect(await windowOf(importId)).toEqual(new Date(t0.getTime() + HOUR));

    // It then uses its tries, past the day: given up at the next sync, said once.
    clock = new Date(back + 5 * 60_000);
    await fail(importId, [0]);
    clock = new Date(back + 10 * 60_000);
    await handOverEvaluations(deps(), 'epsilon');
    expect(await stateOf(importId)).toBe('failed');
    expect(givenUp()).toMatchObject([{ importId, chunks: [0] }]);
    expect(handedAgain().filter((l) => l.importId === importId)).toHaveLength(1);
  });

  it('its job failed within the day before Redis went: handed over again when Redis is back, its day kept, and given up when it fails again', async () => {
    clock = t0;
    lines.length = 0;
    const importId = await insertImport('zeta', 'failed-before-outage.xml', HOUR, 2);
    await handOverEvaluations(deps(), 'zeta');
    await fail(importId, [0]);
    // An hour on a sync hands it over again: its day starts. It fails again within minutes.
    clock = new Date(t0.getTime() + HOUR);
    await handOverEvaluations(deps(), 'zeta');
    expect(await stateOf(importId)).toBe('waiting');
    clock = new Date(t0.getTime() + HOUR + 5 * 60_000);
    await fail(importId, [0]);

    // Redis is away 30 h, data kept; the first sync after it is back finds the job failed — within
    // its day: handed over again with its tries afresh, not given up, the day not started again.
    const back = t0.getTime() + 31 * HOUR;
    clock = new Date(back);
    await handOverEvaluations(deps(), 'zeta');
    expect(givenUp()).toEqual([]);
    expect(await stateOf(importId)).toBe('waiting');
    expect((await s.producer.queueFor('evaluate-triggers').getJob(jobId(importId, 0)))?.attemptsMade).toBe(0);
    expect(handedAgain().at(-1)).toMatchObject({ importId, chunk: 0, job: 'finished' });
    expect(await windowOf(importId)).toEqual(new Date(t0.getTime() + HOUR));

    // It fails again, now past the day: the following sync gives it up, once.
    clock = new Date(back + 5 * 60_000);
    await fail(importId, [0]);
    clock = new Date(back + 10 * 60_000);
    await handOverEvaluations(deps(), 'zeta');
    expect(await stateOf(importId)).toBe('failed');
    expect(givenUp()).toMatchObject([{ importId, chunks: [0] }]);
    clock = new Date(back + HOUR);
    await handOverEvaluations(deps(), 'zeta');
    expect(givenUp()).toHaveLength(1);
    expect(await stateOf(importId)).toBe('failed');
  });
});

describe('a job judged by when it failed, not by when a sync looks', () => {
  it('failing every time with the queue there: one that failed inside the day is handed over again, one past it gives the evaluation up', async () => {
    clock = t0;
    lines.length = 0;
    const importId = await insertImport('eta', 'always-failing.xml', HOUR, 2);
    await handOverEvaluations(deps(), 'eta');
    await fail(importId, [0]);
    await handOverEvaluations(deps(), 'eta');
    expect(await windowOf(importId)).toEqual(t0);

    // Failing through the day, a sync after each failure: handed over again every time.
    for (const at of [6, 12, 18]) {
      clock = new Date(t0.getTime() + at * HOUR);
      await fail(importId, [0]);
      clock = new Date(clock.getTime() + 5 * 60_000);
      await handOverEvaluations(deps(), 'eta');
      expect(await stateOf(importId)).toBe('waiting');
    }
    // The last failure a minute inside the day, the sync after it past the day: still handed over.
    clock = new Date(t0.getTime() + REHAND_OVER_FOR_MS - 60_000);
    await fail(importId, [0]);
    clock = new Date(t0.getTime() + REHAND_OVER_FOR_MS + 60_000);
    await handOverEvaluations(deps(), 'eta');
    expect(await stateOf(importId)).toBe('waiting');
    expect(givenUp()).toEqual([]);

    // Failing past the day: the next sync gives it up, once.
    clock = new Date(t0.getTime() + REHAND_OVER_FOR_MS + 5 * 60_000);
    await fail(importId, [0]);
    clock = new Date(t0.getTime() + REHAND_OVER_FOR_MS + 10 * 60_000);
    await handOverEvaluations(deps(), 'eta');
    expect(await stateOf(importId)).toBe('failed');
    expect(givenUp()).toMatchObject([{ importId, chunks: [0] }]);
    await handOverEvaluations(deps(), 'eta');
    expect(givenUp()).toHaveLength(1);
  });

  it('a queue backed up at every sync (the job untried each time) does not start the day again, so it is still given up', async () => {
    clock = t0;
    lines.length = 0;
    const importId = await insertImport('theta', 'backed-up-queue.xml', HOUR, 2);
    await handOverEvaluations(deps(), 'theta');
    await fail(importId, [0]);
    await handOverEvaluations(deps(), 'theta');
    expect(await windowOf(importId)).toEqual(t0);

    // Every round: a sync finds the job still waiting its turn, untried; then it fails; the next sync
    // hands it over again.
    for (const at of [6, 12, 18, 25]) {
      clock = new Date(t0.getTime() + at * HOUR);
      await handOverEvaluations(deps(), 'theta');
      expect(await stateOf(importId)).toBe('waiting');
      expect(givenUp()).toEqual([]);
      expect(await windowOf(importId)).toEqual(t0);
      clock = new Date(clock.getTime() + 5 * 60_000);
      await fail(importId, [0]);
      clock = new Date(clock.getTime() + 5 * 60_000);
      await handOverEvaluations(deps(), 'theta');
      if (at < 24) expect(await stateOf(importId)).toBe('waiting');
    }
    // The last failure was past the day from the first hand-over again: given up.
    expect(await stateOf(importId)).toBe('failed');
    expect(givenUp()).toMatchObject([{ importId, chunks: [0] }]);
  });
});
