import type { Redis } from 'ioredis';
import nock from 'nock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { handlers } from '../../jobs/index.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { RedisRateLimiter } from '../../src/queue/rate-limit.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { recordToSinks } from '../../src/records/record-outbox.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { listOutbox, openAlerts } from '../../src/store/outbox.ts';
import { configWith } from '../helpers/config.ts';
import { type FakeCpoms, startFakeCpoms } from '../helpers/fake-cpoms.ts';
import { insertTestRecords } from '../helpers/outbox.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

/** The real catalog, with retries that come fast enough for a test (the policy is the same). */
const fastCatalog = {
  ...catalog,
  jobs: {
    ...catalog.jobs,
    'deliver-record': {
      ...catalog.jobs['deliver-record'],
      attempts: 30,
      backoff: { type: 'fixed' as const, delayMs: 20 },
    },
  },
};

const schema = uniqueName('deliver');
const prefix = uniqueName('deliver');
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let fake: FakeCpoms;
const log = createLogger({ level: 'silent' });

function depsFor(config: ReturnType<typeof configWith>): JobDeps {
  return {
    db,
    log,
    producer,
    now: () => new Date(),
    instance: 't',
    config,
    limiter: new RedisRateLimiter(conn, prefix),
  };
}

async function runUntilSettled(deps: JobDeps, timeoutMs = 60_000) {
  const host = new WorkerHost({
    catalog: fastCatalog,
    handlers,
    deps,
    roles: ['worker'],
    redis: { url: TEST_REDIS_URL },
    prefix,
    log,
  });
  host.run();
  try {
    await handlers['relay-outbox']!(
      { reason: 'manual' },
      { id: 'r', name: 'relay-outbox', attempt: 1, maxAttempts: 1, signal: new AbortController().signal },
      deps,
    );
    const end = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox WHERE status = 'pending'`,
      );
      if (rows[0]!.n === 0) return;
      if (Date.now() > end) throw new Error(`${rows[0]!.n} records still pending`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await host.close(2000);
  }
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(fastCatalog, conn, prefix);
  fake = await startFakeCpoms({ token: 'good-token', seed: 42 });
});
afterAll(async () => {
  await fake.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});
beforeEach(async () => {
  await db.query('DELETE FROM outbox');
  await db.query('DELETE FROM alerts');
  fake.incidents.clear();
  fake.created = 0;
  fake.requests = 0;
  fake.faults = {};
});

const live = (token: string, extra = '') =>
  configWith({
    records: `{ sink: cpoms, baseUrl: "${fake.url}", token: "\${CPOMS_TOKEN}", ratePerSecond: 1000, timeoutMs: 300${extra} }`,
    env: { CPOMS_TOKEN: token },
  });

describe('deliver-record', () => {
  it('delivers 1,000 records exactly once through 20% 5xx, 10% timeouts, 5% 429 and 5% lost responses', async () => {
    await insertTestRecords(db, 1000, 'cpoms', 'faulty');
    fake.faults = { error5xx: 0.2, timeout: 0.1, rateLimit: 0.05, lostResponse: 0.05, retryAfterSeconds: 0 };
    await runUntilSettled(depsFor(live('good-token')), 120_000);
    expect(fake.incidents.size).toBe(1000);
    expect(fake.created).toBe(1000); // one 201 per record: nothing doubled
    const keys = new Set([...fake.incidents.values()].map((i) => i.idempotencyKey));
    expect(keys.size).toBe(1000);
    const rows = await listOutbox(db, { limit: 2000 });
    expect(rows.filter((r) => r.status === 'delivered')).toHaveLength(1000);
    // Every remote id is the one CPOMS holds for that key (including those learned from a 409).
    for (const r of rows) expect(r.remoteId).toBe(fake.incidents.get(r.idempotencyKey)!.id);
    expect(fake.requests).toBeGreaterThan(1000); // faults were really injected and retried
  }, 150_000);

  it('a bad token stops retries: the record says why and an alert is raised', async () => {
    await insertTestRecords(db, 3, 'cpoms', 'badtoken');
    await runUntilSettled(depsFor(live('wrong-token')));
    const rows = await listOutbox(db);
    expect(rows.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
    expect(rows[0]!.lastError).toContain('HTTP 401 — the token was refused');
    expect(rows[0]!.attempts).toBe(1);
    const alerts = await openAlerts(db, 'alpha');
    expect(alerts).toHaveLength(3);
    expect(alerts[0]!.message).toMatch(
      /^Record #\d+ \(trigger_note\) to cpoms failed: CPOMS (student lookup|incident): HTTP 401/,
    );
    expect(fake.incidents.size).toBe(0);
  });

  it('preview sends nothing', async () => {
    await insertTestRecords(db, 5, 'preview', 'preview');
    const deps = depsFor(configWith());
    await runUntilSettled(deps, 5000);
    expect(fake.requests).toBe(0);
    expect((await listOutbox(db)).map((r) => r.status)).toEqual([
      'preview',
      'preview',
      'preview',
      'preview',
      'preview',
    ]);
  });

  it('a record written while the school was live but delivered after it went back to preview is not sent', async () => {
    await insertTestRecords(db, 1, 'cpoms', 'switched');
    await runUntilSettled(depsFor(configWith()), 5000);
    expect(fake.requests).toBe(0);
    expect((await listOutbox(db))[0]!.status).toBe('preview');
  });

  it('keeps to the school host rate limit across the queue', async () => {
    await insertTestRecords(db, 30, 'cpoms', 'limited');
    // The limiter's grants, by the second they were granted in: the product's promise is at most 10
    // sends granted per second (arrival times at the server would add the machine's delays).
    const granted: number[] = [];
    class Recording extends RedisRateLimiter {
      override async acquire(key: string, perSecond: number, now = Date.now()): Promise<number> {
        const wait = await super.acquire(key, perSecond, now);
        if (wait === 0) granted.push(now);
        return wait;
      }
    }
    const deps = depsFor(
      configWith({
        records: `{ sink: cpoms, baseUrl: "${fake.url}", token: "\${CPOMS_TOKEN}", ratePerSecond: 10, timeoutMs: 1000 }`,
        env: { CPOMS_TOKEN: 'good-token' },
      }),
    );
    await runUntilSettled({ ...deps, limiter: new Recording(conn, prefix) });
    expect(fake.incidents.size).toBe(30);
    const perSecond = new Map<number, number>();
    for (const t of granted)
      perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    expect(granted.length).toBeGreaterThanOrEqual(30);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(10);
    expect(perSecond.size).toBeGreaterThanOrEqual(3);
  });

  it('routes a kind to a second sink: one outbox row per sink, each delivered once (Heath Lane: CPOMS and Arbor)', async () => {
    let arborNotes = 0;
    const arbor = nock('https://heath.uk.arbor.sc')
      .post('/rest-v2/pastoral-notes')
      .times(5)
      .reply(201, () => {
        arborNotes++;
        return { pastoralNote: { entityType: 'PastoralNote', id: 900 + arborNotes } };
      });
    const config = configWith({
      records: `{ sink: cpoms, baseUrl: "${fake.url}", token: "\${CPOMS_TOKEN}", timeoutMs: 1000 }`,
      school: `    alsoRecordTo:
      - { sink: arbor-pastoral, baseUrl: "https://heath.uk.arbor.sc", username: app, password: "\${ARBOR_PASSWORD}", kinds: [visit_outcome] }
`,
      env: { CPOMS_TOKEN: 'good-token', ARBOR_PASSWORD: 'good' },
    });
    const school = config.schools[0]!;
    const before = fake.incidents.size;
    await db.transaction(async (tx) => {
      for (const kind of ['visit_outcome', 'trigger_note'] as const)
        await recordToSinks(tx, school, {
          schoolId: 'alpha',
          kind,
          pupilIds: ['p1'],
          title: kind,
          body: 'body',
          occurredAt: new Date('2025-11-18T16:00:00Z'),
          idempotencyKey: `routed-${kind}`,
          sourceType: 'test',
          sourceId: '1',
        });
    });
    const rows = (await listOutbox(db)).filter((r) => r.idempotencyKey.startsWith('routed-'));
    expect(rows.map((r) => [r.idempotencyKey, r.sink]).sort()).toEqual([
      ['routed-trigger_note', 'cpoms'],
      ['routed-visit_outcome', 'cpoms'],
      ['routed-visit_outcome:arbor-pastoral', 'arbor-pastoral'],
    ]);
    await runUntilSettled(depsFor(config));
    expect(fake.incidents.size - before).toBe(2);
    expect(arborNotes).toBe(1);
    const after = (await listOutbox(db)).filter((r) => r.idempotencyKey.startsWith('routed-'));
    expect(after.every((r) => r.status === 'delivered')).toBe(true);
    nock.cleanAll();
    void arbor;
  });

  it('refuses a school that names the same sink twice', () => {
    const r = parseConfigText(
      `trust: { id: t, name: T }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: sims-xml, dropFolder: ./data/drop }
    records: { sink: preview }
    policies: [statutory]
    alsoRecordTo: [{ sink: preview, kinds: [visit_outcome] }]
`,
      { env: {} },
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems.map((p) => `${p.path}: ${p.message}`)).toContainEqual(
      'schools[0].alsoRecordTo[0].sink: already a records sink of this school (each sink once), got "preview"',
    );
  });
});
