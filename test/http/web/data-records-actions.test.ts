import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.ts';
import type { DoorstepConfig } from '../../../src/config/schema.ts';
import { listAudit } from '../../../src/store/audit.ts';
import type { Db } from '../../../src/store/db.ts';
import { getOutbox, insertOutbox, markFailed, openAlerts } from '../../../src/store/outbox.ts';
import type { User } from '../../../src/store/users.ts';
import { storeAndQueue } from '../../helpers/store-queue.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * The data page listed every record that failed for good but told the data manager to run
 * `doorstep outbox retry ID` or `dismiss ID --reason …` on the server — which a school's data manager
 * cannot. The page now does both (`POST /api/outbox/:id/retry`, `/dismiss` with where it was
 * recorded by hand), through the store functions the command uses: for whoever sees the failed
 * records (the data manager; admin), only for a record of a school they work at (another school's is
 * not found), only for a failed one, audited with the person, its alert closed.
 */
const q = storeAndQueue('recactions');

/** Alpha and beta send their records to CPOMS; gamma's went back to preview (nothing is sent). */
function liveSchools(): DoorstepConfig {
  const school = (id: string, records: string) => `
  - id: ${id}
    name: ${id} school
    mis: { kind: sims-xml, dropFolder: ./data/drop/${id} }
    records: ${records}
    policies: [statutory]`;
  const cpoms = '{ sink: cpoms, baseUrl: "http://127.0.0.1:1", token: "${CPOMS_TOKEN}", ratePerSecond: 10 }';
  const r = parseConfigText(
    `trust: { id: test-trust, name: Test Trust }\nschools:${school('alpha', cpoms)}${school('beta', cpoms)}${school('gamma', '{ sink: preview }')}\n`,
    { env: { CPOMS_TOKEN: 'token' } },
  );
  if (!r.ok) throw new Error(`test config invalid: ${r.problems.map((p) => p.message).join('; ')}`);
  return r.config;
}
const config = liveSchools();
let db: Db;
let app: FastifyInstance;
const users = new Map<string, User>();

beforeAll(async () => {
  db = q.db;
  app = await buildWebApp(config, db, { prefix: q.prefix, publisher: q.conn, producer: q.producer });
  users.set('dora', await addUser(db, 'dora', ['data-manager'], { schools: ['alpha'] }));
  users.set('ada', await addUser(db, 'ada', ['admin'], { schools: ['alpha'] }));
  users.set('dan', await addUser(db, 'dan', ['safeguarding'], { schools: ['alpha'] }));
  users.set('olive', await addUser(db, 'olive', ['office'], { schools: ['alpha'] }));
  users.set('bea', await addUser(db, 'bea', ['data-manager'], { schools: ['beta'] }));
  users.set('gil', await addUser(db, 'gil', ['data-manager'], { schools: ['gamma'] }));
});
afterAll(async () => {
  await app.close();
});

let n = 0;
/** A record of `school` to CPOMS, failed for good with its alert (unless `failed` is false). */
async function record(school = 'alpha', failed = true): Promise<string> {
  const key = `rec-${++n}`;
  const id = await db.transaction(
    async (tx) =>
      (await insertOutbox(tx, {
        schoolId: school,
        kind: 'lone_worker_incident',
        pupilIds: [],
        title: 'Lone-worker incident',
        body: 'Worker felt unsafe at the door',
        occurredAt: new Date(),
        sink: 'cpoms',
        idempotencyKey: key,
        sourceType: 'test',
        sourceId: key,
      }))!,
  );
  if (failed)
    await markFailed(db, (await getOutbox(db, id))!, 'CPOMS incident: HTTP 403 — the token was refused');
  return id;
}

async function post(who: string, url: string, payload?: object, opts: { csrf?: string | null } = {}) {
  const { cookie, csrf } = await sessionFor(db, users.get(who)!);
  const token = opts.csrf === undefined ? csrf : opts.csrf;
  return app.inject({
    method: 'POST',
    url,
    headers: { cookie, ...(token === null ? {} : { 'x-csrf-token': token }) },
    ...(payload ? { payload } : {}),
  });
}

const alertsOf = async (id: string) =>
  (await openAlerts(db)).filter((a) => a.message.startsWith(`Record #${id} `));

describe('retry and dismiss from the data page', () => {
  it('Retry puts a failed record back in line, closes its alert and audits the person', async () => {
    const id = await record();
    expect(await alertsOf(id)).toHaveLength(1);
    const before = (await getOutbox(db, id))!;
    const r = await post('dora', `/api/outbox/${id}/retry`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ id, status: 'pending', sendAfterMs: 0 });
    const after = (await getOutbox(db, id))!;
    expect(after).toMatchObject({ status: 'pending', attempts: 0, lastError: null });
    expect(after.generation).toBe(before.generation + 1);
    expect(await alertsOf(id)).toEqual([]);
    const { rows } = await db.query<{ acknowledged_by: string }>(
      `SELECT acknowledged_by FROM alerts WHERE entity_type = 'outbox' AND entity_id = $1`,
      [id],
    );
    expect(rows.map((a) => a.acknowledged_by)).toEqual([`user:${users.get('dora')!.id}`]);
    // Once, by the person, under the school (its admin reads the school's audit).
    const audit = await listAudit(db, { entityType: 'outbox', entityId: id, action: 'record.retry' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: `user:${users.get('dora')!.id}`, schoolId: 'alpha' });
    // The relay is asked at once (it runs every 5 s anyway).
    const waiting = await q.producer.queueFor('relay-outbox').getJobs(['waiting', 'prioritized', 'delayed']);
    expect(waiting.map((j) => j.data)).toContainEqual(expect.objectContaining({ reason: 'manual' }));
  });

  it('Dismiss closes a failed record with where it was recorded, its alert closed, audited once', async () => {
    const id = await record();
    const r = await post('ada', `/api/outbox/${id}/dismiss`, {
      reason: '  recorded by hand in CPOMS,\n 16 March  ',
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ id, status: 'dismissed', reason: 'recorded by hand in CPOMS, 16 March' });
    const after = (await getOutbox(db, id))!;
    const ada = `user:${users.get('ada')!.id}`;
    expect(after.status).toBe('dismissed');
    expect(after.dismissed).toMatchObject({ by: ada, reason: 'recorded by hand in CPOMS, 16 March' });
    expect(await alertsOf(id)).toEqual([]);
    const audit = await listAudit(db, { entityType: 'outbox', entityId: id });
    expect(audit.map((a) => [a.action, a.actor, a.schoolId])).toEqual([
      ['record.failed', 'system:deliver-record', 'alpha'],
      ['record.dismissed', ada, 'alpha'],
    ]);
    expect(audit[1]!.after).toMatchObject({ reason: 'recorded by hand in CPOMS, 16 March' });
  });

  it('only whoever sees the failed records acts on them: the safeguarding team and the office are refused', async () => {
    const id = await record();
    for (const who of ['dan', 'olive']) {
      for (const [action, body] of [
        ['retry', undefined],
        ['dismiss', { reason: 'recorded by hand' }],
      ] as const) {
        const r = await post(who, `/api/outbox/${id}/${action}`, body);
        expect(r.statusCode, `${who} ${action}`).toBe(403);
      }
    }
    expect((await getOutbox(db, id))!.status).toBe('failed');
  });

  it("another school's record answers as an unknown one: 404, never confirmed, never changed", async () => {
    const theirs = await record('beta');
    for (const [action, body] of [
      ['retry', undefined],
      ['dismiss', { reason: 'recorded by hand' }],
    ] as const) {
      const other = await post('dora', `/api/outbox/${theirs}/${action}`, body);
      const unknown = await post('dora', `/api/outbox/987654321/${action}`, body);
      expect(other.statusCode, other.body).toBe(404);
      expect(unknown.statusCode).toBe(404);
      expect(other.json().message).toBe(unknown.json().message.replace('987654321', theirs));
      expect(other.json().message).toBe(`no record #${theirs} of your schools`);
    }
    expect((await getOutbox(db, theirs))!.status).toBe('failed');
    // Their own data manager may.
    expect((await post('bea', `/api/outbox/${theirs}/retry`)).statusCode).toBe(200);
  });

  it('a record that is not failed is refused with 409, saying what it is', async () => {
    const pending = await record('alpha', false);
    const r = await post('dora', `/api/outbox/${pending}/retry`);
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({
      code: 'DOORSTEP_CONFLICT',
      message: `record #${pending} is waiting to be sent, not failed (only a failed record is sent again)`,
    });
    const d = await post('dora', `/api/outbox/${pending}/dismiss`, { reason: 'recorded by hand' });
    expect(d.statusCode).toBe(409);
    expect(d.json().message).toMatch(/is waiting to be sent, not failed \(only a failed record is dismissed/);

    const dismissed = await record();
    expect((await post('dora', `/api/outbox/${dismissed}/dismiss`, { reason: 'in CPOMS' })).statusCode).toBe(
      200,
    );
    for (const [action, body] of [
      ['retry', undefined],
      ['dismiss', { reason: 'again' }],
    ] as const) {
      const again = await post('dora', `/api/outbox/${dismissed}/${action}`, body);
      expect(again.statusCode).toBe(409);
      expect(again.json().message).toMatch(/is dismissed already, not failed/);
    }
    expect((await getOutbox(db, dismissed))!.dismissed!.reason).toBe('in CPOMS');
  });

  it("Retry of a record whose school's records went back to preview is refused with 409 saying so: nothing is queued", async () => {
    const id = await record('gamma');
    const r = await post('gil', `/api/outbox/${id}/retry`);
    expect(r.statusCode, r.body).toBe(409);
    expect(r.json()).toMatchObject({
      code: 'DOORSTEP_CONFLICT',
      message: `record #${id} is not sent again now: the school's records are in preview (nothing is sent to CPOMS); press Retry once the school is live again`,
    });
    const after = (await getOutbox(db, id))!;
    expect(after).toMatchObject({ status: 'failed', generation: 0 });
    expect(await alertsOf(id)).toHaveLength(1);
    // Dismissing it (recorded by hand) is still open to them.
    expect((await post('gil', `/api/outbox/${id}/dismiss`, { reason: 'in CPOMS by hand' })).statusCode).toBe(
      200,
    );
  });

  it('a record whose last send may still arrive: Retry says when it is sent; Dismiss waits, saying until when', async () => {
    const id = await record();
    // Failed while its last request may still land (a claim kept, as markFailed with keepClaim leaves it).
    await db.query(`UPDATE outbox SET delivering_until = now() + interval '100 seconds' WHERE id = $1`, [id]);
    const d = await post('dora', `/api/outbox/${id}/dismiss`, { reason: 'recorded by hand in CPOMS' });
    expect(d.statusCode, d.body).toBe(409);
    expect(d.json().message).toBe(
      `record #${id}'s last send to CPOMS may still arrive for 2 min more: check CPOMS after that (Retry finds it there if it arrived), then dismiss it if it did not`,
    );
    expect((await getOutbox(db, id))!.status).toBe('failed');
    const r = await post('dora', `/api/outbox/${id}/retry`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().sendAfterMs).toBeGreaterThan(95_000);
    expect(r.json().sendAfterMs).toBeLessThanOrEqual(100_000);
  });

  it('a dismissal without a reason, or with one too long, is refused with 422 saying what to give', async () => {
    const id = await record();
    for (const body of [{}, { reason: '' }, { reason: ' \n\t ' }]) {
      const r = await post('dora', `/api/outbox/${id}/dismiss`, body);
      expect(r.statusCode, JSON.stringify(body)).toBe(422);
      expect(r.json().message).toMatch(/^reason: required — where the record was recorded by hand/);
    }
    const long = await post('dora', `/api/outbox/${id}/dismiss`, { reason: 'x'.repeat(501) });
    expect(long.statusCode).toBe(422);
    expect(long.json().message).toBe(
      'reason: at most 500 characters — where the record was recorded, not the record again (this one is 501)',
    );
    // 500 is taken.
    expect((await post('dora', `/api/outbox/${id}/dismiss`, { reason: 'x'.repeat(500) })).statusCode).toBe(
      200,
    );
  });

  it('bad ids and bodies answer 400, never a 500', async () => {
    const id = await record();
    for (const url of [
      '/api/outbox/abc/retry',
      '/api/outbox/-1/dismiss',
      `/api/outbox/${'9'.repeat(19)}/retry`,
    ])
      expect((await post('dora', url, { reason: 'x' })).statusCode, url).toBe(400);
    expect((await post('dora', `/api/outbox/${id}/dismiss`, { reason: 12 })).statusCode).toBe(400);
    expect((await post('dora', `/api/outbox/${id}/retry`, { force: true })).statusCode).toBe(400);
    expect((await getOutbox(db, id))!.status).toBe('failed');
  });

  it('without the CSRF token, or with a wrong one, nothing is done', async () => {
    const id = await record();
    for (const csrf of [null, 'not-the-token']) {
      const r = await post('dora', `/api/outbox/${id}/retry`, undefined, { csrf });
      expect(r.statusCode).toBe(403);
      expect(r.json().code).toBe('DOORSTEP_CSRF');
      const d = await post('dora', `/api/outbox/${id}/dismiss`, { reason: 'in CPOMS' }, { csrf });
      expect(d.statusCode).toBe(403);
    }
    expect((await getOutbox(db, id))!.status).toBe('failed');
    expect(await alertsOf(id)).toHaveLength(1);
  });
});
