import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RecordDeliveryError } from '../../connectors/records/types.ts';
import { DELIVERY_CLAIM_MS, deliverRecord } from '../../jobs/deliver-record.ts';
import type { JobDeps } from '../../jobs/deps.ts';
import { createLogger } from '../../src/log/logger.ts';
import { RetryLaterError } from '../../src/queue/worker-host.ts';
import { dismissOutbox, getOutbox, insertOutbox, retryOutbox } from '../../src/store/outbox.ts';
import { configWith } from '../helpers/config.ts';
import { BACKENDS, type TestStore } from '../store/dp-fixtures.ts';

/**
 * One delivery of a record at a time. Arbor keeps no idempotency key: a delivery reads the student's
 * notes, then posts. Two deliveries of one record at overlapping times — a job handed back at
 * shutdown mid-POST and taken at once by another worker, or a stalled-lock redelivery while the first
 * still runs — would each find no note and post one. The record's claim makes the second come back
 * later, and the one after the claim runs out finds the note the first made.
 */

/**
 * A slow Arbor: a POSTed note is committed `COMMIT_MS` after it arrives, then answered. Or, as
 * `postFate` says: held (committed only when the test lets it go, long after the sink's own timeout),
 * committed and answered 502 (a gateway that gave up while Arbor went on), or committed and the
 * connection cut before the answer.
 */
const COMMIT_MS = 300;
const notes: { id: number; summary: string }[] = [];
let posts = 0;
let url = '';
let postFate: 'answer' | 'hold' | '502' | 'reset' = 'answer';
const held: (() => void)[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => {
    body += d;
  });
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    // No idle keep-alive socket for the next test to find closed under it (ECONNRESET).
    res.setHeader('connection', 'close');
    if (req.method === 'GET')
      return res.end(JSON.stringify({ pastoralNotes: notes.map((n) => ({ id: n.id, summary: n.summary })) }));
    posts++;
    const commit = () => {
      const n = { id: 1000 + notes.length, summary: JSON.parse(body).request.pastoralNote.summary };
      notes.push(n);
      return n;
    };
    if (postFate === 'hold') return held.push(() => commit());
    if (postFate === '502') {
      commit();
      res.statusCode = 502;
      return res.end('{"error":"bad gateway"}');
    }
    if (postFate === 'reset') {
      commit();
      return res.socket?.destroy();
    }
    setTimeout(() => {
      const n = commit();
      if (!res.destroyed) res.end(JSON.stringify({ pastoralNote: { id: n.id } }));
    }, COMMIT_MS);
  });
});
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  notes.length = 0;
  posts = 0;
  postFate = 'answer';
  held.length = 0;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('deliver-record claims the record on $name', ({ open }) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await open();
  });
  afterAll(async () => store.close());

  const deps = (timeoutMs = 5000) =>
    ({
      db: store.db,
      log: createLogger({ level: 'silent' }),
      producer: undefined,
      now: () => new Date(),
      instance: 't',
      config: configWith({
        mis: '{ kind: csv, dropFolder: ./data/drop/alpha }',
        records: `{ sink: arbor-pastoral, arborStudentIds: true, baseUrl: "${url}", username: app, password: "\${ARBOR_PASSWORD}", ratePerSecond: 1000, timeoutMs: ${timeoutMs} }`,
        env: { ARBOR_PASSWORD: 'good' },
      }),
    }) as unknown as JobDeps;
  const run = (signal = new AbortController().signal, attempt = 1) => ({
    id: 'deliver-test',
    name: 'deliver-record',
    attempt,
    maxAttempts: 10,
    signal,
  });
  const insert = async (key: string) =>
    (await store.db.transaction((tx) =>
      insertOutbox(tx, {
        schoolId: 'alpha',
        kind: 'visit_outcome',
        pupilIds: ['1001'],
        title: 'Home visit outcome',
        body: 'b',
        occurredAt: new Date('2025-11-18T16:00:00Z'),
        sink: 'arbor-pastoral',
        idempotencyKey: key,
        sourceType: 'test',
        sourceId: '1',
      }),
    ))!;
  /** The claim run out (as it does `DELIVERY_CLAIM_MS` after it was taken). */
  const runOut = (id: string) =>
    store.db.query(`UPDATE outbox SET delivering_until = now() - interval '1 second' WHERE id = $1`, [id]);

  it('a job handed back at shutdown mid-POST and taken at once by another worker comes back later: ONE Arbor note', async () => {
    const id = await insert(`inflight-${Math.random()}`);
    const first = new AbortController();
    const a = deliverRecord({ outboxId: id }, run(first.signal), deps()).catch((e: unknown) => e);
    while (posts === 0) await sleep(5); // the POST is at Arbor
    first.abort('shutdown'); // WorkerHost.close past its deadline: aborted, handed back with no delay
    await a;
    // Taken at once: the aborted POST may still land, so the record waits — no try used.
    const b = await deliverRecord({ outboxId: id }, run(), deps()).catch((e: unknown) => e);
    expect(b).toBeInstanceOf(RetryLaterError);
    expect((b as RetryLaterError).delayMs).toBeGreaterThan(DELIVERY_CLAIM_MS - 5_000);
    expect((b as RetryLaterError).delayMs).toBeLessThanOrEqual(DELIVERY_CLAIM_MS);
    expect((await getOutbox(store.db, id))?.attempts).toBe(1);
    await sleep(COMMIT_MS + 100);
    expect(notes).toHaveLength(1);
    // Once the claim runs out, the next delivery finds the note the aborted POST made.
    await runOut(id);
    const c = await deliverRecord({ outboxId: id }, run(), deps());
    expect(c).toEqual({ status: 'delivered', remoteId: String(notes[0]!.id) });
    expect({ posts, notes: notes.length }).toEqual({ posts: 1, notes: 1 });
  });

  it('two deliveries of the same record at once (a stalled-lock redelivery): one sends, the other comes back later and then finds it delivered', async () => {
    const id = await insert(`twice-${Math.random()}`);
    const [x, y] = await Promise.all([
      deliverRecord({ outboxId: id }, run(), deps()).catch((e: unknown) => e),
      deliverRecord({ outboxId: id }, run(), deps()).catch((e: unknown) => e),
    ]);
    const results = [x, y];
    expect(results.filter((r) => r instanceof RetryLaterError)).toHaveLength(1);
    expect(results).toContainEqual({ status: 'delivered', remoteId: String(notes[0]?.id) });
    expect({ posts, notes: notes.length }).toEqual({ posts: 1, notes: 1 });
    // Come back: delivered, nothing more sent; the claim ended with the verdict.
    expect(await deliverRecord({ outboxId: id }, run(), deps())).toEqual({ status: 'delivered' });
    const { rows } = await store.db.query('SELECT delivering_until FROM outbox WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ delivering_until: null });
  });

  it('a failed try to retry (Arbor unreachable) ends the claim: the retry is not kept waiting', async () => {
    const id = await insert(`retry-${Math.random()}`);
    const broken = configWith({
      mis: '{ kind: csv, dropFolder: ./data/drop/alpha }',
      records: `{ sink: arbor-pastoral, arborStudentIds: true, baseUrl: "http://127.0.0.1:1", username: app, password: "\${ARBOR_PASSWORD}", ratePerSecond: 1000, timeoutMs: 2000 }`,
      env: { ARBOR_PASSWORD: 'good' },
    });
    await expect(deliverRecord({ outboxId: id }, run(), { ...deps(), config: broken })).rejects.toThrow();
    expect(await deliverRecord({ outboxId: id }, run(), deps())).toMatchObject({ status: 'delivered' });
    expect(posts).toBe(1);
  });

  // The sink's own per-request timeout (not the job's), a 502 from a gateway while Arbor went on, a
  // connection cut before the answer: the POST was sent and may have made the note. Arbor keeps no
  // idempotency key, so the backoff retry (2 s later) must not post again before it can find it.
  for (const fate of ['hold', '502', 'reset'] as const)
    it(`a POST sent and then ${fate === 'hold' ? 'not answered within the sink timeout' : fate === '502' ? 'answered 502' : 'cut off'} keeps the claim: the retry waits, then finds the note — ONE Arbor note`, async () => {
      postFate = fate;
      const id = await insert(`landed-${fate}-${Math.random()}`);
      // timeoutMs 1000: the held POST is given up by the sink's timeout, never by the job's signal.
      const first = await deliverRecord({ outboxId: id }, run(), deps(1000)).catch((e: unknown) => e);
      expect(first).toBeInstanceOf(RecordDeliveryError);
      expect(first).toMatchObject({ advice: { retry: 'backoff' }, mayHaveLanded: true });
      expect(posts).toBe(1);
      // The note lands after the sink gave up on it.
      for (const commit of held.splice(0)) commit();
      expect(notes).toHaveLength(1);
      // The job's backoff retry: the claim is still held, so it comes back later with no try used.
      const second = await deliverRecord({ outboxId: id }, run(undefined, 2), deps()).catch(
        (e: unknown) => e,
      );
      expect(second).toBeInstanceOf(RetryLaterError);
      expect((second as RetryLaterError).delayMs).toBeGreaterThan(DELIVERY_CLAIM_MS - 5_000);
      expect((await getOutbox(store.db, id))?.attempts).toBe(1);
      // Once the claim runs out, the next delivery finds the note the first POST made.
      await runOut(id);
      postFate = 'answer';
      expect(await deliverRecord({ outboxId: id }, run(undefined, 2), deps())).toEqual({
        status: 'delivered',
        remoteId: String(notes[0]!.id),
      });
      expect({ posts, notes: notes.length }).toEqual({ posts: 1, notes: 1 });
    });

  // The LAST try the same: the record is failed, and the data manager may press Retry at once. The
  // new generation's delivery must not post before the first POST could have landed.
  it("the last try's POST not answered within the sink timeout fails the record but keeps the claim: a Retry at once waits, then finds the note — ONE Arbor note", async () => {
    postFate = 'hold';
    const id = await insert(`last-try-${Math.random()}`);
    const last = await deliverRecord({ outboxId: id }, run(undefined, 10), deps(1000)).catch(
      (e: unknown) => e,
    );
    expect(last).toBeInstanceOf(RecordDeliveryError);
    const failed = (await getOutbox(store.db, id))!;
    expect(failed.status).toBe('failed');
    expect(failed.lastError).toMatch(/may still have reached the sink/);
    // Retry from the data page (POST /api/outbox/:id/retry): a new generation, at once.
    expect(await retryOutbox(store.db, id, 'user:1')).toBe(true);
    postFate = 'answer';
    const again = await deliverRecord({ outboxId: id }, run(), deps()).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(RetryLaterError);
    expect((again as RetryLaterError).delayMs).toBeGreaterThan(DELIVERY_CLAIM_MS - 5_000);
    expect(posts).toBe(1);
    // The first POST lands after all; once the claim runs out the retry finds it.
    for (const commit of held.splice(0)) commit();
    await runOut(id);
    expect(await deliverRecord({ outboxId: id }, run(), deps())).toEqual({
      status: 'delivered',
      remoteId: String(notes[0]!.id),
    });
    expect({ posts, notes: notes.length }).toEqual({ posts: 1, notes: 1 });
  });

  it('a record failed while its last POST may still land is not dismissed until that can no longer happen', async () => {
    postFate = 'reset';
    const id = await insert(`dismiss-wait-${Math.random()}`);
    await deliverRecord({ outboxId: id }, run(undefined, 10), deps(1000)).catch((e: unknown) => e);
    expect((await getOutbox(store.db, id))?.status).toBe('failed');
    const refused = await dismissOutbox(store.db, id, 'user:1', 'recorded by hand in Arbor');
    expect(refused).toMatchObject({ status: 'may-still-land', sink: 'arbor-pastoral' });
    expect((refused as { waitMs: number }).waitMs).toBeGreaterThan(DELIVERY_CLAIM_MS - 5_000);
    expect((await getOutbox(store.db, id))?.status).toBe('failed');
    await runOut(id);
    expect(await dismissOutbox(store.db, id, 'user:1', 'recorded by hand in Arbor')).toBe(true);
  });

  it('a last try that never reached Arbor (connection refused) ends the claim: a Retry is sent at once', async () => {
    const id = await insert(`last-refused-${Math.random()}`);
    const broken = configWith({
      mis: '{ kind: csv, dropFolder: ./data/drop/alpha }',
      records: `{ sink: arbor-pastoral, arborStudentIds: true, baseUrl: "http://127.0.0.1:1", username: app, password: "\${ARBOR_PASSWORD}", ratePerSecond: 1000, timeoutMs: 2000 }`,
      env: { ARBOR_PASSWORD: 'good' },
    });
    await deliverRecord({ outboxId: id }, run(undefined, 10), { ...deps(), config: broken }).catch(
      (e: unknown) => e,
    );
    expect((await getOutbox(store.db, id))?.status).toBe('failed');
    expect(await retryOutbox(store.db, id, 'user:1')).toBe(true);
    expect(await deliverRecord({ outboxId: id }, run(), deps())).toMatchObject({ status: 'delivered' });
    expect(posts).toBe(1);
  });

  it('a rate limiter that cannot be asked (Redis away) ends the claim: nothing was sent', async () => {
    const id = await insert(`limiter-${Math.random()}`);
    const away = {
      acquire: async () => {
        throw new Error('Redis: connection refused');
      },
    };
    await expect(
      deliverRecord({ outboxId: id }, run(), { ...deps(), limiter: away } as unknown as JobDeps),
    ).rejects.toThrow('Redis: connection refused');
    expect(await deliverRecord({ outboxId: id }, run(), deps())).toMatchObject({ status: 'delivered' });
    expect(posts).toBe(1);
  });
});
