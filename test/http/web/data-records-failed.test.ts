import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverRecord } from '../../../jobs/deliver-record.ts';
import { createLogger } from '../../../src/log/logger.ts';
import type { catalog } from '../../../src/queue/catalog.ts';
import type { Producer } from '../../../src/queue/producer.ts';
import type { Db } from '../../../src/store/db.ts';
import {
  dismissOutbox,
  getOutbox,
  insertOutbox,
  listOutbox,
  markFailed,
  openAlerts,
  retryOutbox,
} from '../../../src/store/outbox.ts';
import { configWith } from '../../helpers/config.ts';
import { insertTestRecords } from '../../helpers/outbox.ts';
import { storeAndQueue } from '../../helpers/store-queue.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * A record that failed for good ("dead-lettered loudly") is shown where someone acts on it, however
 * many records came after it: the data page lists every failed record with its reason and its open
 * "delivery failed" alert until it is retried or dismissed (which closes the alert), and the board —
 * the safeguarding team's page, who cannot open the data page — says how many there are.
 */
const q = storeAndQueue('recfailed');
const config = configWith({
  records:
    '{ sink: cpoms, baseUrl: "https://alpha.cpoms.test", token: "${T}", ratePerSecond: 1000, timeoutMs: 500 }',
  env: { T: 'rotated-token' },
});
let db: Db;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
const as = new Map<string, { cookie: string }>();

beforeAll(async () => {
  ({ db, producer } = q);
  app = await buildWebApp(config, db, { prefix: q.prefix, publisher: q.conn, producer });
  as.set('data', await sessionFor(db, await addUser(db, 'dora', ['data-manager'], { schools: ['alpha'] })));
  as.set('dsl', await sessionFor(db, await addUser(db, 'dan', ['safeguarding'], { schools: ['alpha'] })));
  as.set('office', await sessionFor(db, await addUser(db, 'olive', ['office'], { schools: ['alpha'] })));
});
afterAll(async () => {
  nock.cleanAll();
  await app.close();
});

const get = (who: string, url: string) => app.inject({ url, headers: { cookie: as.get(who)!.cookie } });
const dataPage = async () => {
  const r = await get('data', '/api/data?school=alpha');
  expect(r.statusCode).toBe(200);
  return r.json() as {
    outbox: Record<string, number>;
    records: { id: string }[];
    recordsFailed: {
      total: number;
      bySink: Record<string, number>;
      alertsOpen: number;
      oldest: {
        id: string;
        kind: string;
        sink: string;
        createdAt: string;
        failedAt: string;
        tries: number;
        reason: string | null;
        alert: { id: string; raisedAt: string; message: string } | null;
      }[];
    };
  };
};
const board = async (who: string) => {
  const r = await get(who, '/api/board?school=alpha');
  expect(r.statusCode).toBe(200);
  return (r.json() as { recordsFailed: Record<string, number> }).recordsFailed;
};

let outcome: string;
let incident: string;

const record = (kind: 'visit_outcome' | 'lone_worker_incident', key: string) =>
  db.transaction(
    async (tx) =>
      (await insertOutbox(tx, {
        schoolId: 'alpha',
        kind,
        pupilIds: ['p1'],
        title: 'Home visit outcome for Jamie Rivers',
        body: 'Child not seen; neighbour says the family moved',
        occurredAt: new Date(),
        sink: 'cpoms',
        idempotencyKey: key,
        sourceType: 'test',
        sourceId: key,
      }))!,
  );

describe('records that failed for good', () => {
  it('are each listed on the data page with their reason and alert, however many records came after', async () => {
    // A visit outcome for CPOMS; CPOMS refuses the token (rotated): failed, not retried.
    outcome = await record('visit_outcome', 'vo-1');
    nock('https://alpha.cpoms.test').get(/.*/).times(2).reply(401).post(/.*/).reply(401);
    await expect(
      deliverRecord(
        { outboxId: outcome },
        {
          id: `deliver-${outcome}-g0`,
          name: 'deliver-record',
          attempt: 1,
          maxAttempts: 10,
          signal: new AbortController().signal,
        },
        {
          db,
          log: createLogger({ level: 'silent' }),
          producer,
          now: () => new Date(),
          instance: 't',
          config,
        },
      ),
    ).rejects.toThrow();
    nock.cleanAll();
    incident = await record('lone_worker_incident', 'lw-1');
    await markFailed(
      db,
      (await getOutbox(db, incident))!,
      'gave up after 10 tries: CPOMS incident: HTTP 502',
    );
    // … then the day goes on: 20 trigger notes are written after them.
    await insertTestRecords(db, 20, 'cpoms', 'later');

    const d = await dataPage();
    expect(d.outbox.failed).toBe(2);
    // The latest 20 no longer hold them …
    expect(d.records.map((r) => String(r.id))).not.toContain(outcome);
    // … the failed list does, oldest first, with why and the alert raised.
    expect(d.recordsFailed).toMatchObject({ total: 2, bySink: { cpoms: 2 }, alertsOpen: 2 });
    expect(d.recordsFailed.oldest).toEqual([
      {
        id: outcome,
        kind: 'visit_outcome',
        sink: 'cpoms',
        createdAt: expect.any(String),
        failedAt: expect.any(String),
        tries: 1,
        reason: expect.stringContaining('HTTP 401'),
        alert: {
          id: expect.any(String),
          raisedAt: expect.any(String),
          message: expect.stringMatching(
            new RegExp(`^Record #${outcome} \\(visit_outcome\\) to cpoms failed: .*HTTP 401`),
          ),
        },
      },
      {
        id: incident,
        kind: 'lone_worker_incident',
        sink: 'cpoms',
        createdAt: expect.any(String),
        failedAt: expect.any(String),
        tries: 1,
        reason: 'gave up after 10 tries: CPOMS incident: HTTP 502',
        alert: expect.objectContaining({ message: expect.stringContaining('HTTP 502') }),
      },
    ]);
    // What is listed is ids, kinds, sinks, times and reasons: never the record's text.
    const listed = JSON.stringify(d.recordsFailed);
    for (const words of ['Jamie', 'Rivers', 'neighbour', 'p1']) expect(listed).not.toContain(words);
  });

  it('the board says how many to the safeguarding team and the office; the data page is the data manager’s', async () => {
    expect(await board('dsl')).toEqual({ cpoms: 2 });
    expect(await board('office')).toEqual({ cpoms: 2 });
    expect((await get('dsl', '/api/data?school=alpha')).statusCode).toBe(403);
  });

  it('a retried record leaves the list and its alert is closed; failing again, it is back with a new alert', async () => {
    const [before] = (await dataPage()).recordsFailed.oldest;
    expect(await retryOutbox(db, outcome, 'cli')).toBe(true);
    let d = await dataPage();
    expect(d.recordsFailed).toMatchObject({ total: 1, alertsOpen: 1 });
    expect(d.recordsFailed.oldest.map((r) => r.id)).toEqual([incident]);
    expect((await openAlerts(db, 'alpha')).map((a) => a.message)).not.toContain(before!.alert!.message);
    expect(await board('dsl')).toEqual({ cpoms: 1 });

    await markFailed(db, (await getOutbox(db, outcome))!, 'CPOMS incident: HTTP 403 — the token was refused');
    d = await dataPage();
    expect(d.recordsFailed).toMatchObject({ total: 2, alertsOpen: 2 });
    const again = d.recordsFailed.oldest.find((r) => r.id === outcome)!;
    expect(again.reason).toBe('CPOMS incident: HTTP 403 — the token was refused');
    expect(again.alert!.id).not.toBe(before!.alert!.id);
    expect(again.alert!.message).toContain('HTTP 403');
  });

  it('a dismissed record leaves the list and its alert is closed', async () => {
    expect(await dismissOutbox(db, incident, 'user:dora', 'recorded by hand in CPOMS')).toBe(true);
    expect(await retryOutbox(db, outcome, 'cli')).toBe(true);
    const d = await dataPage();
    expect(d.recordsFailed).toEqual({ total: 0, bySink: {}, alertsOpen: 0, oldest: [] });
    expect(await openAlerts(db, 'alpha')).toEqual([]);
    expect(await board('dsl')).toEqual({});
  });

  it('lists the oldest 100 of more, and counts them all', async () => {
    await insertTestRecords(db, 101, 'cpoms', 'many');
    const many = (await listOutbox(db, { schoolId: 'alpha', status: 'pending', limit: 200 })).filter((r) =>
      r.idempotencyKey.startsWith('many-'),
    );
    for (const r of many) await markFailed(db, r, 'CPOMS incident: HTTP 500');
    const d = await dataPage();
    expect(d.recordsFailed).toMatchObject({ total: 101, alertsOpen: 101 });
    const ids = many.map((r) => Number(r.id)).sort((a, b) => a - b);
    expect(d.recordsFailed.oldest.map((r) => Number(r.id))).toEqual(ids.slice(0, 100));
  });
});

it('the migration closes them set-wise: no subquery run per alert (none has an index on entity_id)', async () => {
  const sql = readFileSync(
    new URL('../../../src/store/migrations/073_retried_records_alerts_closed.sql', import.meta.url),
    'utf8',
  );
  const statements = sql
    .replace(/--.*$/gm, '')
    .split(';')
    .map((q) => q.trim())
    .filter(Boolean);
  expect(statements.length).toBeGreaterThan(0);
  for (const q of statements) {
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${q}`);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).not.toMatch(/SubPlan/);
  }
});

it('the migration closes alerts left open by a retry made before retries closed them', async () => {
  const id = await record('visit_outcome', 'vo-old');
  const row = (await getOutbox(db, id))!;
  await markFailed(db, row, 'CPOMS incident: HTTP 502');
  // As the retry did before: the record back in line, its alert left open; then failed again.
  await db.query(`UPDATE outbox SET status = 'pending', generation = generation + 1 WHERE id = $1`, [id]);
  const stale = (await openAlerts(db, 'alpha')).filter((a) => a.message.startsWith(`Record #${id} `));
  expect(stale).toHaveLength(1);
  const pending = await record('visit_outcome', 'vo-old-2');
  await markFailed(db, (await getOutbox(db, pending))!, 'CPOMS incident: HTTP 502');
  await db.query(`UPDATE outbox SET status = 'pending', generation = generation + 1 WHERE id = $1`, [
    pending,
  ]);
  await markFailed(db, (await getOutbox(db, id))!, 'CPOMS incident: HTTP 504');
  const openBefore = (await openAlerts(db, 'alpha')).length;

  await db.query(
    readFileSync(
      new URL('../../../src/store/migrations/073_retried_records_alerts_closed.sql', import.meta.url),
      'utf8',
    ),
  );
  const open = await openAlerts(db, 'alpha');
  // The pending record's alert and the refailed record's first one are closed; its new one stays.
  expect(openBefore - open.length).toBe(2);
  expect(open.filter((a) => a.message.startsWith(`Record #${pending} `))).toEqual([]);
  expect(open.filter((a) => a.message.startsWith(`Record #${id} `)).map((a) => a.message)).toEqual([
    `Record #${id} (visit_outcome) to cpoms failed: CPOMS incident: HTTP 504`,
  ]);
});
