import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import type { JobDeps } from '../../jobs/deps.ts';
import { handlers } from '../../jobs/index.ts';
import { resolveAlarm } from '../../src/alarms/commands.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import { changeAccount } from '../../src/auth/accounts.ts';
import { pushOptedIn } from '../../src/checks/push-reach.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log/logger.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { Producer } from '../../src/queue/producer.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import { WorkerHost } from '../../src/queue/worker-host.ts';
import { timelineOf } from '../../src/store/alarm-state.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { configWith } from '../helpers/config.ts';
import { type FakePushService, startFakePushService } from '../helpers/fake-push-service.ts';
import { fobEvent } from '../helpers/fob.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

const schema = uniqueName('push');
const prefix = uniqueName('push');
const log = createLogger({ level: 'silent' });
const vapid = webpush.generateVAPIDKeys();

let fake: FakePushService;
let db: Db;
let conn: Redis;
let producer: Producer<typeof catalog>;
let app: FastifyInstance;
let config: DoorstepConfig;
let host: WorkerHost<typeof catalog, JobDeps> | undefined;
let office: User;
let deputy: User;
let visiting: User;
let n = 0;

/** Level 1 pushes to the office and to the leaders group; level 2 (the board) after 10 minutes. */
function pushConfig(level1: string): DoorstepConfig {
  return configWith({
    env: { VAPID_PRIVATE: vapid.privateKey },
    school: `    fobs:
      devices: [{ deviceId: PS-0001, staffId: staff-1 }]
    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [${level1}] }
          - { afterMinutes: 10, notify: [board], prompt: "Call the police" }
    contacts:
      leaders: [{ name: Deputy, email: deputy@alpha.example }]
      nobody: [{ name: Nemo, email: nemo@alpha.example }]
    channels:
      push:
        publicKey: ${vapid.publicKey}
        privateKey: \${VAPID_PRIVATE}
        subject: mailto:office@alpha.example
        services: ["${fake.origin}"]
        ttlSeconds: 300
`,
  });
}

async function raise(): Promise<string> {
  n++;
  const r = await ingestFobEvent(
    { db, producer, publisher: conn, prefix },
    config.schools[0]!,
    fobEvent(`push-${n}`),
    { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
  );
  return (r as { alarmId: string }).alarmId;
}

async function stepsOf(alarmId: string): Promise<string[]> {
  const { rows } = await db.query<{ step: number; target: string; status: string }>(
    'SELECT step, target, status FROM notifications WHERE alarm_id = $1 ORDER BY step, target',
    [alarmId],
  );
  return rows.map((r) => `${r.step} ${r.target} ${r.status}`);
}

async function subscribe(user: User, name: string) {
  const s = await sessionFor(db, user);
  return app.inject({
    method: 'POST',
    url: '/api/push/subscriptions',
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    payload: { school: 'alpha', subscription: { expirationTime: null, ...fake.browser(name).subscription } },
  });
}

async function subscriptionCount(): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM push_subscriptions');
  return rows[0]!.n;
}

function startHost(level1: string) {
  config = pushConfig(level1);
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
}

beforeAll(async () => {
  fake = await startFakePushService(vapid.publicKey);
  config = pushConfig('push:office-staff');
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  producer = new Producer(catalog, conn, prefix);
  app = await buildWebApp(config, db, { producer, publisher: conn, prefix });
  office = await addUser(db, 'office-1', ['office'], { schools: ['alpha'], displayName: 'Olive Office' });
  deputy = await addUser(db, 'deputy', ['safeguarding'], { schools: ['alpha'] });
  await db.query(`UPDATE users SET email = 'deputy@alpha.example' WHERE id = $1`, [deputy.id]);
  visiting = await addUser(db, 'worker', ['visiting-staff'], {
    schools: ['alpha'],
    staffId: 'staff-1',
    displayName: 'Wren Worker',
  });
});
afterAll(async () => {
  await host?.close(1000);
  await app.close();
  await producer.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
  await fake.close();
});

describe('opting in on the board', () => {
  it('gives the school key; keeps a subscription at an allowed push service; refuses others, naming the field', async () => {
    const s = await sessionFor(db, office);
    const key = await app.inject({
      method: 'GET',
      url: '/api/push/key?school=alpha',
      headers: { cookie: s.cookie },
    });
    expect(key.json()).toEqual({ publicKey: vapid.publicKey });

    expect((await subscribe(office, 'office-phone')).statusCode).toBe(201);
    expect((await subscribe(office, 'office-phone')).statusCode).toBe(201); // again: still one
    expect(await subscriptionCount()).toBe(1);

    const post = (subscription: unknown) =>
      app.inject({
        method: 'POST',
        url: '/api/push/subscriptions',
        headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
        payload: { school: 'alpha', subscription },
      });
    const good = fake.browser('office-phone').subscription;
    const elsewhere = await post({ ...good, endpoint: 'https://internal.example/steal' });
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json().message).toBe('subscription.endpoint: not a push service this school allows');
    const badKey = await post({ ...good, keys: { ...good.keys, p256dh: 'AAAA' } });
    expect(badKey.statusCode).toBe(400);
    expect(badKey.json().message).toMatch(/^subscription\.keys\.p256dh: expected an uncompressed P-256/);
    const noCsrf = await app.inject({
      method: 'POST',
      url: '/api/push/subscriptions',
      headers: { cookie: s.cookie },
      payload: { school: 'alpha', subscription: good },
    });
    expect(noCsrf.statusCode).toBe(403);
    // Only the people at the board opt in.
    expect((await subscribe(visiting, 'worker-phone')).statusCode).toBe(403);
    expect(await subscriptionCount()).toBe(1);
    const { rows } = await db.query<{ action: string; after: unknown }>(
      `SELECT action, after FROM audit_log WHERE action LIKE 'push.%' ORDER BY id`,
    );
    expect(rows[0]).toEqual({ action: 'push.subscribed', after: { service: fake.origin } });
  });

  it('unsubscribes only the account’s own browser', async () => {
    expect((await subscribe(deputy, 'deputy-phone')).statusCode).toBe(201);
    const other = await sessionFor(db, office);
    const endpoint = fake.browser('deputy-phone').subscription.endpoint;
    const del = (s: { cookie: string; csrf: string }) =>
      app.inject({
        method: 'DELETE',
        url: '/api/push/subscriptions',
        headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
        payload: { endpoint },
      });
    expect((await del(other)).json()).toEqual({ subscribed: false, removed: false });
    expect((await del(await sessionFor(db, deputy))).json()).toEqual({ subscribed: false, removed: true });
    expect(await subscriptionCount()).toBe(1);
    expect((await subscribe(deputy, 'deputy-phone')).statusCode).toBe(201);
  });

  it('signing out forgets that browser’s subscription (only the account’s own); a sign-out without one still signs out', async () => {
    expect((await subscribe(deputy, 'deputy-phone')).statusCode).toBe(201);
    expect((await subscribe(office, 'office-phone')).statusCode).toBe(201);
    const before = await subscriptionCount();
    const logout = async (user: User, payload: Record<string, unknown>) => {
      const s = await sessionFor(db, user);
      const res = await app.inject({
        method: 'POST',
        url: '/api/logout',
        headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
        payload,
      });
      const after = await app.inject({ method: 'GET', url: '/api/me', headers: { cookie: s.cookie } });
      return { status: res.statusCode, body: res.json(), signedOut: after.statusCode === 401 };
    };
    const deputyPhone = fake.browser('deputy-phone').subscription.endpoint;
    // Someone else's endpoint is not theirs to forget: they are signed out, the subscription stays.
    expect(await logout(office, { pushEndpoint: deputyPhone })).toMatchObject({
      status: 200,
      signedOut: true,
    });
    expect(await subscriptionCount()).toBe(before);
    const { rows: mark } = await db.query<{ id: string }>('SELECT max(id)::text AS id FROM audit_log');
    expect(await logout(deputy, { pushEndpoint: deputyPhone })).toMatchObject({
      status: 200,
      signedOut: true,
    });
    expect(await subscriptionCount()).toBe(before - 1);
    const { rows } = await db.query<{ action: string; actor: string }>(
      'SELECT action, actor FROM audit_log WHERE id > $1 ORDER BY id',
      [mark[0]!.id],
    );
    expect(rows.map((r) => r.action)).toEqual(['push.unsubscribed', 'auth.signed-out']);
    expect(await logout(office, {})).toMatchObject({ status: 200, signedOut: true });
    expect(await subscriptionCount()).toBe(before - 1);
    const bad = await logout(office, { pushEndpoint: 'x'.repeat(3000) });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^pushEndpoint: /);
    expect((await subscribe(deputy, 'deputy-phone')).statusCode).toBe(201);
  });

  it('a new password or a disabled account forgets its browsers too: whoever had the old password is pushed no more alarms', async () => {
    const before = await subscriptionCount();
    const { rows: own } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM push_subscriptions WHERE user_id = $1',
      [deputy.id],
    );
    expect(own[0]!.n).toBeGreaterThan(0);
    await changeAccount(db, deputy.id, 'password', 'system:cli', 'a-brand-new-passphrase');
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM push_subscriptions WHERE user_id = $1',
      [deputy.id],
    );
    expect(rows[0]!.n).toBe(0);
    expect(await subscriptionCount()).toBe(before - own[0]!.n); // no one else's
    // Subscribed again once signed in afresh; disabling forgets it the same way.
    expect((await subscribe(deputy, 'deputy-phone')).statusCode).toBe(201);
    await changeAccount(db, deputy.id, 'disable', 'system:cli');
    expect(await subscriptionCount()).toBe(before - own[0]!.n);
    await changeAccount(db, deputy.id, 'enable', 'system:cli');
    expect((await subscribe(deputy, 'deputy-phone')).statusCode).toBe(201);
  });
});

describe('push:<group> on the ladder', () => {
  it('push:office-staff: each opted-in browser gets type, name and time, encrypted to it and VAPID-signed; an expired one is removed', async () => {
    startHost('push:office-staff');
    expect((await subscribe(office, 'office-laptop')).statusCode).toBe(201);
    fake.gone.add('/push/office-laptop');
    const before = fake.received.length;
    const id = await raise();
    await until(async () => (await stepsOf(id))[0]?.endsWith('sent') || null, 10_000, 'the push');
    const got = fake.received.slice(before);
    expect(got.map((r) => r.path).sort()).toEqual(['/push/deputy-phone', '/push/office-phone']);
    for (const r of got) {
      expect(r.claims).toMatchObject({ aud: fake.origin, sub: 'mailto:office@alpha.example' });
      expect(r.ttl).toBe('300');
      expect(r.urgency).toBe('high');
      expect(r.payload).toEqual({
        title: 'DOORSTEP ALARM: SOS',
        body: expect.stringMatching(/^SOS from Wren Worker at \d\d:\d\d\. Open the board to take it\.$/),
        alarmId: id,
        url: '/board?school=alpha',
      });
    }
    // The expired browser is forgotten; the others stay.
    const { rows } = await db.query<{ endpoint: string }>(
      'SELECT endpoint FROM push_subscriptions ORDER BY id',
    );
    expect(rows.map((r) => new URL(r.endpoint).pathname).sort()).toEqual([
      '/push/deputy-phone',
      '/push/office-phone',
    ]);
    expect(fake.refused).toContain('410 push subscription has unsubscribed or expired');
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
    await host?.close(1000);
  });

  it('never pushes to the person the alarm is about: the deputy wears the fob, only the office phone gets it', async () => {
    await db.query(`UPDATE users SET staff_id = NULL WHERE id = $1`, [visiting.id]);
    await db.query(`UPDATE users SET staff_id = 'staff-1' WHERE id = $1`, [deputy.id]);
    try {
      startHost('push:office-staff');
      const before = fake.received.length;
      const id = await raise();
      await until(async () => (await stepsOf(id))[0]?.endsWith('sent') || null, 10_000, 'the push');
      expect(fake.received.slice(before).map((r) => r.path)).toEqual(['/push/office-phone']);
      await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
      await host?.close(1000);
    } finally {
      await db.query(`UPDATE users SET staff_id = NULL WHERE id = $1`, [deputy.id]);
      await db.query(`UPDATE users SET staff_id = 'staff-1' WHERE id = $1`, [visiting.id]);
    }
  });

  it("an alarm at a school the config no longer holds: pushed through the orphansTo school's channel, its link to that school's board", async () => {
    startHost('push:office-staff');
    const before = fake.received.length;
    // Raised at a school since taken out of the config (its id renamed, say): alpha takes it.
    n++;
    const r = await ingestFobEvent(
      { db, producer, publisher: conn, prefix },
      { ...config.schools[0]!, id: 'gone' },
      fobEvent(`push-${n}`),
      { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
    );
    const id = (r as { alarmId: string }).alarmId;
    try {
      await until(async () => (await stepsOf(id))[0]?.endsWith('sent') || null, 10_000, 'the push');
      const got = fake.received.slice(before);
      expect(got.length).toBeGreaterThan(0);
      for (const p of got) expect(p.payload).toMatchObject({ alarmId: id, url: '/board?school=alpha' });
    } finally {
      await db.query(`UPDATE alarms SET school_id = 'alpha' WHERE id = $1`, [id]);
      await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
      await host?.close(1000);
    }
  });

  it('push:<contacts group> reaches the accounts of its people (by e-mail); a group no one opted in from moves the alarm on at once', async () => {
    startHost('push:leaders');
    const before = fake.received.length;
    const id = await raise();
    await until(async () => (await stepsOf(id))[0]?.endsWith('sent') || null, 10_000, 'the push');
    expect(fake.received.slice(before).map((r) => r.path)).toEqual(['/push/deputy-phone']);
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
    await host?.close(1000);

    startHost('push:nobody');
    const lonely = await raise();
    await until(async () => (await stepsOf(lonely)).includes('1 board sent') || null, 10_000, 'level 2 now');
    expect((await stepsOf(lonely))[0]).toBe('0 push:nobody failed');
    const events = (await timelineOf(db, lonely)).map((t) => t.event);
    expect(events.find((e) => e.includes('not delivered'))).toMatch(
      /^push:nobody not delivered \(push: no one in "nobody" has opted in/,
    );
    await resolveAlarm(db, config, lonely, 'office:t', 'false_alarm', null, new Date());
    await host?.close(1000);
  });

  it('every subscription expired: removed, and the alarm moves on at once', async () => {
    fake.gone.add('/push/deputy-phone');
    startHost('push:leaders');
    const id = await raise();
    await until(async () => (await stepsOf(id)).includes('1 board sent') || null, 10_000, 'level 2 now');
    expect((await stepsOf(id))[0]).toBe('0 push:leaders failed');
    const { rows } = await db.query<{ endpoint: string }>('SELECT endpoint FROM push_subscriptions');
    expect(rows.map((r) => new URL(r.endpoint).pathname)).toEqual(['/push/office-phone']);
    // What the reachability check counts: the leaders' browsers are gone, the office's is not.
    expect(await pushOptedIn(db, config.schools[0]!)).toEqual(new Map([['leaders', 0]]));
    expect(await pushOptedIn(db, pushConfig('push:office-staff').schools[0]!)).toEqual(
      new Map([['office-staff', 1]]),
    );
    await resolveAlarm(db, config, id, 'office:t', 'false_alarm', null, new Date());
    await host?.close(1000);
    host = undefined;
  });
});
