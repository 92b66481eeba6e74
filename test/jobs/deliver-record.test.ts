import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import nock from 'nock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DELIVERY_JOB_TIMEOUT_MS } from '../../connectors/records/settings.ts';
import { deliverRecord, MAX_COME_BACK_LATER, MIN_COME_BACK_LATER_MS } from '../../jobs/deliver-record.ts';
import type { JobDeps } from '../../jobs/deps.ts';
import { handlers } from '../../jobs/index.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { RedisRateLimiter } from '../../src/queue/rate-limit.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { RetryLaterError, WorkerHost } from '../../src/queue/worker-host.ts';
import { recordToSinks } from '../../src/records/record-outbox.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { insertOutbox, listOutbox, openAlerts, retryOutbox } from '../../src/store/outbox.ts';
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
    log: deps.log,
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

/** A school whose pupils come in a CSV export from Arbor: its ids are Arbor's student ids. */
const ARBOR_CSV = '{ kind: csv, dropFolder: ./data/drop/alpha }';

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
    for (const r of rows) expect(r.remoteId).toBe(fake.incidents.get(r.outwardKey)!.id);
    expect(fake.requests).toBeGreaterThan(1000); // faults were really injected and retried
  }, 150_000);

  it("a second install (a store begun afresh) makes the same keys from its serial ids: its records are new to CPOMS, never taken as the first install's", async () => {
    const otherSchema = uniqueName('deliver2');
    const other = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema: otherSchema });
    try {
      const deps = depsFor(live('good-token'));
      for (const store of [db, other]) {
        await insertTestRecords(store, 1, 'cpoms', 'visit-outcome:alpha');
        const [row] = (await listOutbox(store)).filter((r) => r.idempotencyKey === 'visit-outcome:alpha-0');
        // Sent under this install's id and the record's key.
        expect(row!.outwardKey).toMatch(/^[0-9a-f]{16}:visit-outcome:alpha-0$/);
        expect(
          await deliverRecord({ outboxId: row!.id }, runOf('two-installs'), { ...deps, db: store }),
        ).toMatchObject({ status: 'delivered' });
      }
      expect(fake.created).toBe(2);
      const [first] = await listOutbox(db);
      const [second] = await listOutbox(other);
      expect(first!.outwardKey).not.toBe(second!.outwardKey);
      expect(first!.remoteId).not.toBe(second!.remoteId);
      // A record written before install ids (migration 052) keeps the key it may have been sent with.
      await db.query(`UPDATE outbox SET install_scoped = false WHERE id = $1`, [first!.id]);
      expect((await listOutbox(db))[0]!.outwardKey).toBe('visit-outcome:alpha-0');
    } finally {
      await other.close();
      await dropSchema(otherSchema);
    }
  });

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

  it('a record written while the school was live but delivered after it went back to preview is not sent, and is failed loudly, to be sent once live again by Retry on the data page', async () => {
    await insertTestRecords(db, 1, 'cpoms', 'switched');
    await runUntilSettled(depsFor(configWith()), 5000);
    expect(fake.requests).toBe(0);
    const [row] = await listOutbox(db);
    // Never left standing as if it were a preview: nothing would ever send it, and no one would know.
    expect(row!.status).toBe('failed');
    const alerts = await openAlerts(db, 'alpha');
    expect(alerts.map((a) => a.message)).toEqual([
      `Record #${row!.id} (trigger_note) to cpoms failed: written while the school sent records to cpoms, but the school's records are in preview now, so it was not sent: once the school is live again, press Retry on the data page (or \`doorstep outbox retry ${row!.id}\`)`,
    ]);
    // Live again: retried by hand, it is sent once.
    expect(await retryOutbox(db, row!.id, 'it:test')).toBe(true);
    await runUntilSettled(depsFor(live('good-token')), 5000);
    expect((await listOutbox(db))[0]!.status).toBe('delivered');
    expect(fake.incidents.size).toBe(1);
  });

  it('a record written in preview is never sent, not even to an alsoRecordTo sink whose delivery runs after go-live', async () => {
    const inPreview = configWith({
      records: '{ sink: preview }',
      school: `    alsoRecordTo:
      - { sink: cpoms, baseUrl: "${fake.url}", token: "\${CPOMS_TOKEN}", timeoutMs: 1000, kinds: [visit_outcome] }
`,
      env: { CPOMS_TOKEN: 'good-token' },
    });
    await db.transaction((tx) =>
      recordToSinks(tx, inPreview.schools[0]!, {
        schoolId: 'alpha',
        kind: 'visit_outcome',
        pupilIds: ['p1'],
        title: 'written in preview',
        body: 'body',
        occurredAt: new Date('2025-11-18T16:00:00Z'),
        idempotencyKey: 'in-preview',
        sourceType: 'test',
        sourceId: '1',
      }),
    );
    expect((await listOutbox(db)).map((r) => [r.sink, r.status]).sort()).toEqual([
      ['cpoms', 'preview'],
      ['preview', 'preview'],
    ]);
    // The school goes live (the worker was down meanwhile): nothing written in preview is sent.
    await runUntilSettled(depsFor(live('good-token')), 5000);
    expect(fake.requests).toBe(0);
    expect((await listOutbox(db)).every((r) => r.status === 'preview')).toBe(true);
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
      // The student's notes, read first for one this record made already: none.
      .get('/rest-v2/PastoralNotes')
      .query(true)
      .times(5)
      .reply(200, { pastoralNotes: [] })
      .post('/rest-v2/pastoral-notes')
      .times(5)
      .reply(201, () => {
        arborNotes++;
        return { pastoralNote: { entityType: 'PastoralNote', id: 900 + arborNotes } };
      });
    const config = configWith({
      mis: ARBOR_CSV,
      records: `{ sink: cpoms, baseUrl: "${fake.url}", token: "\${CPOMS_TOKEN}", timeoutMs: 1000 }`,
      school: `    alsoRecordTo:
      - { sink: arbor-pastoral, arborStudentIds: true, baseUrl: "https://heath.uk.arbor.sc", username: app, password: "\${ARBOR_PASSWORD}", kinds: [visit_outcome] }
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

/** A local vendor for one test: `answer` writes each response (it may hold it back). */
async function localVendor(
  answer: (
    req: { method: string; url: string; body: string },
    res: import('node:http').ServerResponse,
  ) => void,
) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => answer({ method: req.method!, url: req.url!, body }, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const runOf = (id: string, signal = new AbortController().signal) => ({
  id,
  name: 'deliver-record',
  attempt: 1,
  maxAttempts: 10,
  signal,
});

async function insertOne(
  kind: 'lone_worker_incident' | 'visit_outcome',
  sink: string,
  pupilIds: string[],
  body = 'Body',
) {
  const id = await db.transaction((tx) =>
    insertOutbox(tx, {
      schoolId: 'alpha',
      kind,
      pupilIds,
      title: 'Title',
      body,
      occurredAt: new Date('2025-11-18T16:00:00Z'),
      sink,
      idempotencyKey: `one-${kind}-${Math.random()}`,
      sourceType: 'test',
      sourceId: '1',
    }),
  );
  return id!;
}

describe('deliver-record: records Arbor cannot take, stopped tries, refusals', () => {
  it('"come back later" (a 503 maintenance window) waits as told, never at once, and not for ever: failed with an alert at the limit', async () => {
    const config = configWith({
      mis: ARBOR_CSV,
      records: `{ sink: arbor-pastoral, arborStudentIds: true, baseUrl: "https://later.uk.arbor.sc", username: app, password: "\${ARBOR_PASSWORD}" }`,
      env: { ARBOR_PASSWORD: 'good' },
    });
    const deps = depsFor(config);
    const id = await insertOne('visit_outcome', 'arbor-pastoral', ['1001']);
    const run = {
      id: 'd',
      name: 'deliver-record',
      attempt: 1,
      maxAttempts: 10,
      signal: new AbortController().signal,
    };
    const tryOnce = (retryAfter: string) => {
      nock('https://later.uk.arbor.sc')
        .get('/rest-v2/PastoralNotes')
        .query(true)
        .reply(200, { pastoralNotes: [] })
        .post('/rest-v2/pastoral-notes')
        .reply(503, {}, { 'retry-after': retryAfter });
      return deliverRecord({ outboxId: id }, run, deps).catch((e: unknown) => e);
    };
    const waited = await tryOnce('120');
    expect(waited).toBeInstanceOf(RetryLaterError);
    expect((waited as RetryLaterError).delayMs).toBe(120_000);
    // "Retry-After: 0" (or a date gone by) is not a loop of requests.
    expect(((await tryOnce('0')) as RetryLaterError).delayMs).toBe(MIN_COME_BACK_LATER_MS);
    await db.query('UPDATE outbox SET attempts = $2 WHERE id = $1', [id, MAX_COME_BACK_LATER - 1]);
    const last = await tryOnce('120');
    expect(last).not.toBeInstanceOf(RetryLaterError);
    const row = (await listOutbox(db)).find((r) => r.id === id)!;
    expect(row.status).toBe('failed');
    expect(row.lastError).toMatch(/still told to come back later after 100 tries: .*HTTP 503, back in 120 s/);
    nock.cleanAll();
  });

  it('a lone-worker incident with no pupil is not "delivered" to Arbor: failed with an alert saying where it is kept and how to have it sent', async () => {
    let posted = 0;
    nock('https://solo.uk.arbor.sc')
      .post('/rest-v2/pastoral-notes')
      .reply(201, () => {
        posted++;
        return { pastoralNote: { id: 1 } };
      });
    const config = configWith({
      mis: ARBOR_CSV,
      records: `{ sink: arbor-pastoral, arborStudentIds: true, baseUrl: "https://solo.uk.arbor.sc", username: app, password: "\${ARBOR_PASSWORD}" }`,
      env: { ARBOR_PASSWORD: 'good' },
    });
    const id = await insertOne('lone_worker_incident', 'arbor-pastoral', []);
    await runUntilSettled(depsFor(config));
    nock.cleanAll();
    expect(posted).toBe(0);
    const row = (await listOutbox(db)).find((r) => r.id === id)!;
    expect(row.status).toBe('failed');
    expect(row.remoteId).toBeNull();
    expect(row.attempts).toBe(1);
    expect(row.lastError).toBe(
      `Arbor pastoral note: record #${id} (lone_worker_incident) concerns no pupil, and an Arbor note must be attached to a student — nothing was sent. It is kept here for a person to record by hand (doorstep outbox show ${id}); to have such records sent, add a cpoms sink that takes lone_worker_incident (records.sink, or alsoRecordTo)`,
    );
    expect((await openAlerts(db, 'alpha')).map((a) => a.message)).toEqual([
      `Record #${id} (lone_worker_incident) to arbor-pastoral failed: ${row.lastError}`,
    ]);
    const { rows } = await db.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE entity_type = 'outbox' AND entity_id = $1 ORDER BY id`,
      [id],
    );
    expect(rows.map((r) => r.action)).toEqual(['record.failed']);
  });

  it('refuses a sink timeout that the requests of one record would take past the delivery job timeout', () => {
    const problems = (records: string, also = '') => {
      const r = parseConfigText(
        `trust: { id: t, name: T }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: csv, dropFolder: ./data/drop }
    records: ${records}
    policies: [statutory]
${also}`,
        { env: { T: 'x' } },
      );
      return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
    };
    // The check reads the catalog's timeout through its own constant (a lower layer): the same number.
    expect(DELIVERY_JOB_TIMEOUT_MS).toBe(catalog.jobs['deliver-record'].timeoutMs);
    expect(problems('{ sink: cpoms, baseUrl: https://a.cpoms.net, token: "${T}" }')).toEqual([]); // 15 s × 3
    expect(
      problems('{ sink: cpoms, baseUrl: https://a.cpoms.net, token: "${T}", timeoutMs: 20000 }'),
    ).toEqual([
      "schools[0].records.timeoutMs: school alpha, cpoms sink: timeoutMs 20000 × 3 requests a record may need = 60000 ms, which must stay below 55000 ms (the deliver-record job's 60000 ms timeout less 5000 ms for its own work), or a timed-out try would still be sending while its retry sends again; use at most 18333, got 20000",
    ]);
    expect(
      problems(
        '{ sink: preview }',
        '    alsoRecordTo: [{ sink: arbor-pastoral, arborStudentIds: true, baseUrl: https://a.uk.arbor.sc, username: u, password: "${T}", timeoutMs: 90000, kinds: [visit_outcome] }]\n',
      ),
    ).toEqual([
      "schools[0].alsoRecordTo[0].timeoutMs: school alpha, arbor-pastoral sink: timeoutMs 90000 × 2 requests a record may need = 180000 ms, which must stay below 55000 ms (the deliver-record job's 60000 ms timeout less 5000 ms for its own work), or a timed-out try would still be sending while its retry sends again; use at most 27499, got 90000",
    ]);
    expect(
      problems(
        '{ sink: arbor-pastoral, arborStudentIds: true, baseUrl: https://a.uk.arbor.sc, username: u, password: "${T}", timeoutMs: 27000 }',
      ),
    ).toEqual([]); // 27 s × 2 (the student's notes read, then the note)
    // An Arbor note goes to the student whose Arbor id is the pupil's id: said for an export, never
    // assumed, and refused outright where the ids are never Arbor's.
    const arborSink =
      '{ sink: arbor-pastoral, baseUrl: https://a.uk.arbor.sc, username: u, password: "${T}" }';
    expect(problems(arborSink)).toEqual([
      "schools[0].records.arborStudentIds: school alpha, arbor-pastoral sink: its notes are attached to the Arbor student whose id is the pupil's id, and this school's pupils come from csv, not Arbor: set arborStudentIds: true only if its export gives Arbor's student ids (an export from Arbor), or a note would land on another child's record, got nothing",
    ]);
    const sims = parseConfigText(
      `trust: { id: t, name: T }
schools:
  - id: alpha
    name: Alpha
    mis: { kind: sims-xml, dropFolder: ./data/drop }
    records: { sink: arbor-pastoral, arborStudentIds: true, baseUrl: https://a.uk.arbor.sc, username: u, password: "\${T}" }
    policies: [statutory]
`,
      { env: { T: 'x' } },
    );
    expect(!sims.ok && sims.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      "schools[0].records.sink: school alpha, arbor-pastoral sink: its notes are attached to the Arbor student whose id is the pupil's id, but this school's pupils come from sims-xml (mis.kind), whose ids are SIMS PersonIDs, never Arbor's — a note would land on another child's record; record to Arbor from a school whose pupils come from Arbor (mis.kind: arbor), got \"arbor-pastoral\"",
    ]);
  });

  it('a try stopped by its job (timeout or shutdown) sends nothing more: the lookup is abandoned, no incident posted', async () => {
    const seen: string[] = [];
    const vendor = await localVendor((req, res) => {
      seen.push(`${req.method} ${req.url!.split('?')[0]}`);
      if (req.method === 'GET')
        return setTimeout(() => {
          if (res.destroyed) return;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"students":[{"id":"s1"}]}');
        }, 800);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"id":"inc-1"}');
    });
    try {
      const config = configWith({
        records: `{ sink: cpoms, baseUrl: "${vendor.url}", token: "\${CPOMS_TOKEN}", ratePerSecond: 1000, timeoutMs: 5000 }`,
        env: { CPOMS_TOKEN: 'good-token' },
      });
      const id = await insertOne('visit_outcome', 'cpoms', ['p1']);
      const job = new AbortController();
      const started = Date.now();
      setTimeout(() => job.abort(Symbol('timeout')), 100);
      const err = await handlers['deliver-record']!(
        { outboxId: id },
        runOf(`deliver-${id}-g0`, job.signal),
        depsFor(config),
      ).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(600);
      expect((err as Error).message).toBe(
        'CPOMS student lookup: stopped — the delivery job was aborted (its timeout or a shutdown)',
      );
      await new Promise((r) => setTimeout(r, 1200)); // past the moment the lookup would have answered
      expect(seen).toEqual(['GET /api/students']);
      const row = (await listOutbox(db)).find((r) => r.id === id)!;
      expect(row).toMatchObject({ status: 'pending', attempts: 1 }); // no verdict: the job retries it
    } finally {
      await vendor.close();
    }
  });

  it('a job of an earlier generation leaves the record to its current job', async () => {
    const id = await insertOne('visit_outcome', 'cpoms', ['p1']);
    await db.query('UPDATE outbox SET generation = 1 WHERE id = $1', [id]);
    const out = await handlers['deliver-record']!(
      { outboxId: id },
      runOf(`deliver-${id}-g0`),
      depsFor(live('good-token')),
    );
    expect(out).toEqual({ status: 'superseded' });
    expect(fake.requests).toBe(0);
  });

  it('a refusal that echoes the record keeps only its status and field names: not in the log, record, alert or audit', async () => {
    const vendor = await localVendor((req, res) => {
      res.writeHead(req.method === 'GET' ? 200 : 422, { 'content-type': 'application/json' });
      if (req.method === 'GET') return res.end('{"students":[]}');
      res.end(
        JSON.stringify({
          error: 'category not found',
          errors: { category: 'Jane Doe: no such category' },
          incident: JSON.parse(req.body),
        }),
      );
    });
    const lines: string[] = [];
    const captured: Logger = createLogger(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    try {
      const config = configWith({
        records: `{ sink: cpoms, baseUrl: "${vendor.url}", token: "\${CPOMS_TOKEN}", ratePerSecond: 1000, timeoutMs: 1000 }`,
        env: { CPOMS_TOKEN: 'good-token' },
      });
      const id = await insertOne(
        'visit_outcome',
        'cpoms',
        ['p1'],
        'Spoke to mother Jane Doe at 12 Acacia Road',
      );
      await runUntilSettled({ ...depsFor(config), log: captured });
      const row = (await listOutbox(db)).find((r) => r.id === id)!;
      expect(row.status).toBe('failed');
      expect(row.lastError).toBe('CPOMS incident: HTTP 422 — CPOMS refused the record (fields: category)');
      expect(lines.some((l) => l.includes('job failed') && l.includes('HTTP 422'))).toBe(true);
      expect(lines.filter((l) => /Jane|Acacia/.test(l))).toEqual([]);
      expect((await openAlerts(db, 'alpha')).filter((a) => /Jane|Acacia/.test(a.message))).toEqual([]);
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM audit_log WHERE entity_id = $1 AND after::text ~ '(Jane|Acacia)'`,
        [id],
      );
      expect(rows[0]!.n).toBe(0);
    } finally {
      await vendor.close();
    }
  });
});
