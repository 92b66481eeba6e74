import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { handlers } from '../../jobs/index.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log/logger.ts';
import { alarmMessage } from '../../src/notify/message.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { renderLoneWorkerIncident } from '../../src/records/templates/lone-worker-incident.ts';
import { timelineOf } from '../../src/store/alarm-state.ts';
import { writeFobEvent } from '../../src/store/alarms.ts';
import { listAudit } from '../../src/store/audit.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { configWith } from '../helpers/config.ts';
import { startFakeTwilio } from '../helpers/fake-twilio.ts';
import { alarmWrite, fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

const TOKEN = 'sms-auth-token-for-drills';
const schema = uniqueName('drill');
const prefix = uniqueName('drill');
const log = createLogger({ level: 'silent' });

/**
 * A Twilio-compatible Messages API as published: form-encoded POST to
 * /2010-04-01/Accounts/{AccountSid}/Messages.json with Basic auth (AccountSid:AuthToken), To, From
 * and Body required; 201 with the message's `sid`.
 */
const texts: { to: string; body: string }[] = [];
let fake: Server;
async function startTwilio(): Promise<string> {
  const started = await startFakeTwilio({
    token: TOKEN,
    handle: ({ resource, form, to }, answer) => {
      const body = form.get('Body');
      if (resource !== 'Messages') return answer(404, { code: 20404, message: 'not found' });
      if (!body) return answer(400, { code: 21602, message: 'Body required' });
      texts.push({ to, body });
      answer(201, { sid: `SM${String(texts.length).padStart(32, '0')}`, status: 'queued', to });
    },
  });
  fake = started.server;
  return started.url;
}

let config: DoorstepConfig;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
let host: WorkerHost<typeof catalog, JobDeps>;
const as = new Map<string, { cookie: string; csrf: string }>();
let admin: User;

beforeAll(async () => {
  const fakeUrl = await startTwilio();
  // The drill's ladder is the fob's SOS ladder: a text to on-call leaders at once, the board after 10 minutes.
  config = configWith({
    env: { SMS_TOKEN: TOKEN },
    school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
      devices: [{ deviceId: PS-0001, staffId: st-1 }, { deviceId: PS-0002, staffId: st-2 }]
      brokerSilenceSeconds: 600
    escalation:
      sos: { levels: [{ afterMinutes: 0, notify: [board, sms:leaders] }, { afterMinutes: 10, notify: [board] }] }
    contacts:
      leaders: [{ name: Head, phone: "+447700900001" }]
    channels:
      sms: { baseUrl: "${fakeUrl}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
`,
  });
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  app = await buildWebApp(config, db, { prefix, producer, publisher: conn });
  admin = await addUser(db, 'admin', ['admin']);
  as.set('admin', await sessionFor(db, admin));
  as.set('office', await sessionFor(db, await addUser(db, 'office', ['office'])));
  const deps: JobDeps = { db, log, producer, now: () => new Date(), instance: 't', config, publisher: conn };
  host = new WorkerHost({
    catalog,
    handlers,
    deps,
    roles: ['ingest'],
    redis: { url: TEST_REDIS_URL },
    prefix,
    log,
  });
  host.run();
});
afterAll(async () => {
  await host.close(2000);
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
  await new Promise((r) => fake.close(r));
});

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: unknown, csrf = true) =>
  app.inject({
    method,
    url,
    headers: { cookie: as.get(who)!.cookie, ...(csrf ? { 'x-csrf-token': as.get(who)!.csrf } : {}) },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

describe('a fob drill ("Send a test alarm")', () => {
  it('is for admins only, with a CSRF token, for a fob registered at the school', async () => {
    expect(
      (await call('office', 'POST', '/api/alarms/test', { school: 'alpha', device: 'PS-0001' })).statusCode,
    ).toBe(403);
    const noCsrf = await call(
      'admin',
      'POST',
      '/api/alarms/test',
      { school: 'alpha', device: 'PS-0001' },
      false,
    );
    expect([noCsrf.statusCode, noCsrf.json().code]).toEqual([403, 'DOORSTEP_CSRF']);
    const unknown = await call('admin', 'POST', '/api/alarms/test', { school: 'alpha', device: 'PS-9999' });
    expect([unknown.statusCode, unknown.json().message]).toEqual([
      404,
      'device: "PS-9999" is not a fob registered at alpha (fobs.devices)',
    ]);
    const bad = await call('admin', 'POST', '/api/alarms/test', { school: 'alpha' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^device: /);
    const { rows } = await db.query('SELECT id FROM alarms');
    expect(rows).toEqual([]);
  });

  it('raises a TEST alarm through the one writer, runs the whole ladder (texts say TEST), and resolves as a test', async () => {
    const r = await call('admin', 'POST', '/api/alarms/test', { school: 'alpha', device: 'PS-0001' });
    expect(r.statusCode).toBe(201);
    const { alarmId } = r.json() as { alarmId: string };
    // The ladder ran: its first level's text, marked TEST first.
    const text = await until(
      () => texts.find((t) => t.body.includes(`#${alarmId}`)),
      15_000,
      'the drill text',
    );
    expect(text.to).toBe('+447700900001');
    expect(text.body).toMatch(
      new RegExp(`^TEST \\(a drill, no one is in danger\\): DOORSTEP ALARM #${alarmId}: SOS from staff st-1`),
    );
    // The alarm row, its snapshot ladder, timeline and audit say what it is.
    const { rows } = await db.query<{ test: boolean; type: string; policy: { levels: unknown[] } }>(
      'SELECT test, type, policy FROM alarms WHERE id = $1',
      [alarmId],
    );
    expect([rows[0]!.test, rows[0]!.type, rows[0]!.policy.levels.length]).toEqual([true, 'sos', 2]);
    const timeline = (await timelineOf(db, alarmId)).map((t) => t.event);
    expect(timeline[0]).toBe(
      'TEST alarm raised: sos from PS-0001 (a fob drill: the whole ladder runs; resolve it as a test)',
    );
    await until(async () =>
      (await timelineOf(db, alarmId)).some((t) => t.event.startsWith('level 1: notified')),
    );
    const audit = await listAudit(db, { entityType: 'alarm', entityId: alarmId, action: 'alarm.raised' });
    expect(
      audit.map((a) => [
        a.actor,
        (a.after as { test?: boolean }).test,
        (a.after as { drill?: boolean }).drill,
      ]),
    ).toEqual([[`user:${admin.id}`, true, true]]);
    // The board card says TEST.
    const board = (await call('admin', 'GET', '/api/board?school=alpha')).json();
    expect(board.alarms.find((a: { id: string }) => a.id === alarmId)).toMatchObject({
      test: true,
      type: 'sos',
    });
    expect(board.drillDevices).toEqual(['PS-0001', 'PS-0002']);
    // One drill per fob at a time.
    const again = await call('admin', 'POST', '/api/alarms/test', { school: 'alpha', device: 'PS-0001' });
    expect([again.statusCode, again.json().message]).toEqual([
      409,
      `a TEST alarm for PS-0001 is still open (#${alarmId}): resolve it first`,
    ]);
    // Resolving it without a reason: a test.
    const resolved = await call('admin', 'POST', `/api/alarms/${alarmId}/resolve`, {});
    expect(resolved.json()).toEqual({ outcome: 'resolved' });
    const after = await db.query<{ resolution_reason: string }>(
      'SELECT resolution_reason FROM alarms WHERE id = $1',
      [alarmId],
    );
    expect(after.rows[0]!.resolution_reason).toBe('test');
    const resolvedToday = (await call('admin', 'GET', '/api/board?school=alpha')).json().resolvedToday;
    expect(resolvedToday.find((a: { id: string }) => a.id === alarmId)).toMatchObject({
      test: true,
      reason: 'test',
    });
    // No incident record for a test.
    expect((await db.query(`SELECT id FROM outbox WHERE source_id = $1`, [alarmId])).rows).toEqual([]);
  });

  it('a real alarm still needs a reason chosen by a person', async () => {
    const r = await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      config.schools[0]!,
      fobEvent('real-1', { deviceId: 'PS-0002' }),
      { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    const id = (r as { alarmId: string }).alarmId;
    const res = await call('admin', 'POST', `/api/alarms/${id}/resolve`, {});
    expect([res.statusCode, res.json().message]).toEqual([
      400,
      'reason: expected one of worker_safe_contacted, worker_safe_running_late, test, false_alarm, incident_without_dispatch, incident_with_dispatch',
    ]);
    const { rows } = await db.query<{ status: string; test: boolean }>(
      'SELECT status, test FROM alarms WHERE id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ status: 'open', test: false });
    await call('admin', 'POST', `/api/alarms/${id}/resolve`, { reason: 'false_alarm' });
  });

  it("is refused while the fob or its wearer has a real alarm open (leaders would get 'TEST' and 'SOS' for the same worker together)", async () => {
    const drills = async () =>
      (await db.query(`SELECT id FROM alarms WHERE test AND status <> 'resolved'`)).rows.length;
    const real = await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      config.schools[0]!,
      fobEvent('real-2', { deviceId: 'PS-0002' }),
      { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    const id = (real as { alarmId: string }).alarmId;
    const refused = await call('admin', 'POST', '/api/alarms/test', { school: 'alpha', device: 'PS-0002' });
    expect([refused.statusCode, refused.json().message]).toEqual([
      409,
      `a real alarm from PS-0002 is still open (#${id}): resolve it before sending a test alarm`,
    ]);
    // Acknowledged is not over: still refused.
    expect((await call('admin', 'POST', `/api/alarms/${id}/acknowledge`, {})).json()).toEqual({
      outcome: 'acknowledged',
    });
    expect(
      (await call('admin', 'POST', '/api/alarms/test', { school: 'alpha', device: 'PS-0002' })).statusCode,
    ).toBe(409);
    // The wearer's alarm from another fob (one they carried before) is theirs too.
    const other = await writeFobEvent(
      db,
      alarmWrite(fobEvent('real-3', { deviceId: 'PS-OLD-1' }), { schoolId: 'alpha', staffId: 'st-1' }),
    );
    const otherId = (other as { alarmId: string }).alarmId;
    const theirs = await call('admin', 'POST', '/api/alarms/test', { school: 'alpha', device: 'PS-0001' });
    expect([theirs.statusCode, theirs.json().message]).toEqual([
      409,
      `a real alarm for the wearer of PS-0001 is still open (#${otherId}): resolve it before sending a test alarm`,
    ]);
    expect(await drills()).toBe(0);
    // Resolved: the drill is sent.
    await call('admin', 'POST', `/api/alarms/${id}/resolve`, { reason: 'false_alarm' });
    const sent = await call('admin', 'POST', '/api/alarms/test', { school: 'alpha', device: 'PS-0002' });
    expect(sent.statusCode).toBe(201);
    await call('admin', 'POST', `/api/alarms/${sent.json().alarmId}/resolve`, {});
    await call('admin', 'POST', `/api/alarms/${otherId}/resolve`, { reason: 'false_alarm' });
  });

  it('every message and an incident record of a TEST alarm say TEST first', () => {
    const n = {
      id: '1',
      alarmId: '7',
      schoolId: 'alpha',
      step: 0,
      target: 'email:dsl',
      alarmType: 'sos',
      deviceId: 'PS-0001',
      staffId: 'st-1',
    };
    expect(alarmMessage({ ...n, test: true })).toMatch(
      /^TEST \(a drill, no one is in danger\): DOORSTEP ALARM #7/,
    );
    expect(alarmMessage(n)).toMatch(/^DOORSTEP ALARM #7/);
    const record = renderLoneWorkerIncident({
      alarmId: '7',
      staff: 'st-1',
      deviceId: 'PS-0001',
      type: 'sos',
      test: true,
      raisedAt: new Date('2026-01-14T10:00:00Z'),
      timeline: [],
      resolution: { reason: 'incident_without_dispatch', by: 'user:1', at: new Date('2026-01-14T10:05:00Z') },
      pupils: [],
    });
    expect(record.title).toMatch(/^TEST — Lone-worker incident/);
    expect(record.body.split('\n')[0]).toBe(
      'TEST ALARM: a fob drill raised to rehearse the ladder, not a real alarm.',
    );
  });
});
