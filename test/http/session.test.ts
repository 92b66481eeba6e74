import { randomBytes, scryptSync } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  hashingPids,
  hashingStats,
  hashPassword,
  limitWaitingHashes,
  MAX_CONCURRENT_HASHES,
  needsRehash,
  passwordProblem,
  verifyPassword,
} from '../../src/auth/password.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log/logger.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { deleteSessionsOfUser, rehashPassword, setPasswordHash, userById } from '../../src/store/users.ts';
import { configWith } from '../helpers/config.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { until } from '../helpers/wait.ts';
import { addUser, buildWebApp, TEST_PASSWORD, webDeps } from '../helpers/web.ts';

const schema = uniqueName('session');
const prefix = uniqueName('session');
const config = configWith();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
/** The web processes' clock, moved by the tests that wait out a lock. */
let clock = new Date('2026-01-12T09:00:00Z');
const now = () => clock;
const others: FastifyInstance[] = [];

/** A web process on the same Redis and store allowing 5 sign-ins a minute per address (e.g. a second instance, or one behind a proxy). */
async function webProcess(trustProxy = false): Promise<FastifyInstance> {
  const a = await buildHttpApp({
    log: createLogger({ level: 'silent' }),
    readiness: [],
    metrics: createMetrics([]),
    queues: [],
    trustProxy,
    web: { ...webDeps(config, db, { prefix, publisher: conn, now }), signInsPerMinutePerAddress: 5 },
  });
  others.push(a);
  return a;
}

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix, publisher: conn, now });
  await addUser(db, 'office.one', ['office']);
  await addUser(db, 'office.two', ['office']);
  for (const name of ['locked.one', 'locked.two', 'locked.three', 'locked.four', 'burst.one', 'gone.one'])
    await addUser(db, name, ['office']);
  await db.query(`UPDATE users SET disabled = true WHERE username = 'gone.one'`);
});
afterAll(async () => {
  await app.close();
  for (const a of others) await a.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

/** Each sign-in from its own address unless told, so the per-address limit stays out of the way. */
let address = 0;
const login = (
  username: string,
  password: string,
  o: { cookie?: string; remoteAddress?: string; on?: FastifyInstance } = {},
) =>
  (o.on ?? app).inject({
    method: 'POST',
    url: '/api/login',
    payload: { username, password },
    remoteAddress: o.remoteAddress ?? `198.51.100.${(address++ % 250) + 1}`,
    ...(o.cookie ? { headers: { cookie: o.cookie } } : {}),
  });

/** The device cookie a successful sign-in set, as a request header. */
function deviceCookie(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === 'doorstep_device');
  expect(c, 'a device cookie').toBeDefined();
  expect(c!.httpOnly).toBe(true);
  expect(c!.path).toBe('/api/login');
  return `doorstep_device=${c!.value}`;
}

async function lockOut(username: string, o: { cookie?: string } = {}) {
  for (let i = 0; i < 5; i++) expect((await login(username, `wrong ${i} password`, o)).statusCode).toBe(401);
}

/** A hash of a password nobody signs in with here. */
const DUMMY_HASH_OF_ANOTHER_PASSWORD = hashPassword('another password altogether');

/**
 * Runs `during` with every hashing slot's process started and stopped (SIGSTOP), so the hashes it
 * starts hold their slots until it returns, whatever the machine's load: an argon2 hash that merely
 * ran would end in ~45 ms, sometimes before a sign-in started beside it got to its hash.
 */
async function withHashersStopped<T>(during: () => Promise<T>): Promise<T> {
  await Promise.all(Array.from({ length: MAX_CONCURRENT_HASHES }, (_, i) => hashPassword(`warm ${i}`)));
  const pids = hashingPids();
  expect(pids).toHaveLength(MAX_CONCURRENT_HASHES);
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  try {
    return await during();
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }
}

describe('passwords', () => {
  it('are stored as salted argon2id hashes (PHC strings) and verified in constant time', async () => {
    const a = await hashPassword('a long enough passphrase');
    const b = await hashPassword('a long enough passphrase');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('a long enough passphrase', a)).toBe(true);
    expect(await verifyPassword('a long enough passphrasE', a)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
    expect(passwordProblem('short')).toMatch(/12 characters/);
  });

  it('an scrypt hash of an earlier release still signs in, and is made argon2id at that sign-in', async () => {
    const salt = randomBytes(16);
    const key = scryptSync('an older passphrase here', salt, 64, {
      N: 131072,
      r: 8,
      p: 1,
      maxmem: 256 * 1024 * 1024,
    });
    const legacy = ['scrypt', 131072, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
    expect(await verifyPassword('an older passphrase here', legacy)).toBe(true);
    expect(needsRehash(legacy)).toBe(true);
    const { id } = await addUser(db, 'legacy.one', ['office']);
    await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, legacy]);
    expect((await login('legacy.one', 'wrong password here')).statusCode).toBe(401);
    expect((await userById(db, id))!.passwordHash).toBe(legacy);
    expect((await login('legacy.one', 'an older passphrase here')).statusCode).toBe(200);
    const now = (await userById(db, id))!.passwordHash;
    expect(now).toMatch(/^\$argon2id\$/);
    expect(needsRehash(now)).toBe(false);
    expect((await login('legacy.one', 'an older passphrase here')).statusCode).toBe(200);
    expect((await userById(db, id))!.passwordHash).toBe(now);
  });

  it('a sign-in whose hash was being checked as the password changed, or the account was disabled, gets no session', async () => {
    for (const change of ['password', 'disabled'] as const) {
      const { id } = await addUser(db, `raced.${change}`, ['office']);
      const other = await DUMMY_HASH_OF_ANOTHER_PASSWORD;
      // Every hashing slot held, so the sign-in waits its turn with the old hash read.
      let busy: Promise<unknown> = Promise.resolve();
      const { signIn } = await withHashersStopped(async () => {
        busy = Promise.all(
          Array.from({ length: MAX_CONCURRENT_HASHES }, (_, i) => hashPassword(`keep it busy ${i} now`)),
        );
        expect(hashingStats().running).toBe(MAX_CONCURRENT_HASHES);
        const waitingBefore = hashingStats().waiting;
        const signIn = login(`raced.${change}`, TEST_PASSWORD);
        await until(() => hashingStats().waiting > waitingBefore, 20_000, 'the sign-in to wait for a hash');
        if (change === 'password') await setPasswordHash(db, id, other);
        else await db.query('UPDATE users SET disabled = true WHERE id = $1', [id]);
        await deleteSessionsOfUser(db, id);
        return { signIn }; // not awaited here: it waits for the hashers let go
      });
      const res = await signIn;
      await busy;
      expect(res.statusCode).toBe(401);
      const { rows } = await db.query('SELECT 1 FROM sessions WHERE user_id = $1', [id]);
      expect(rows).toEqual([]);
    }
  });

  it('a rehash never puts back a password changed since the sign-in read it', async () => {
    const { id } = await addUser(db, 'changed.one', ['office']);
    const was = (await userById(db, id))!.passwordHash;
    await setPasswordHash(db, id, 'changed meanwhile');
    await rehashPassword(db, id, was, await hashPassword(TEST_PASSWORD));
    expect((await userById(db, id))!.passwordHash).toBe('changed meanwhile');
  });
});

describe('sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie and never echoes the password', async () => {
    const res = await login('office.one', TEST_PASSWORD);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true, home: '/board' });
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/doorstep_session=[\w-]{40,}/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/); // plain http here; https (or X-Forwarded-Proto with trustProxy) adds it
    expect(cookie).not.toContain(TEST_PASSWORD);
    const session = res.cookies.find((c) => c.name === 'doorstep_session')!;
    const me = await app.inject({ url: '/api/me', headers: { cookie: `doorstep_session=${session.value}` } });
    expect(me.json().user.displayName).toBe('office.one');
    expect(me.json().csrfToken).toMatch(/^[\w-]{40,}$/);
  });

  it('answers a wrong password, an unknown, a disabled and a locked account alike, each after one password hash', async () => {
    await lockOut('locked.one');
    const answers: { status: number; body: string }[] = [];
    const readCounts: number[] = [];
    for (const [username, password] of [
      ['office.one', 'wrong password here'],
      ['nobody.here', 'wrong password here'],
      ['gone.one', TEST_PASSWORD],
      ['locked.one', TEST_PASSWORD], // the right password, from a device that never signed in
      ['locked.one', 'wrong password here'],
    ] as const) {
      const before = hashingStats().finished;
      const reads = vi.spyOn(db, 'query');
      const res = await login(username, password);
      // The locked answer used to skip the hash (~5 ms against ~700 ms): the same work now.
      expect(hashingStats().finished - before, username).toBe(1);
      // The account is read as often whoever it is (a second read only for an enabled one told them apart).
      const accountReads = reads.mock.calls.filter(([sql]) =>
        /FROM users WHERE username = \$1/.test(String(sql)),
      );
      reads.mockRestore();
      readCounts.push(accountReads.length);
      answers.push({ status: res.statusCode, body: res.body });
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(new Set(readCounts).size, `account reads per answer: ${readCounts.join(', ')}`).toBe(1);
    expect(answers[0]!.status).toBe(401);
    const { rows } = await db.query<{ action: string; actor: string }>(
      `SELECT action, actor FROM audit_log WHERE action LIKE 'auth.%' ORDER BY id`,
    );
    expect(rows.map((r) => r.action)).toContain('auth.locked');
    expect(rows.map((r) => r.action)).toContain('auth.locked-out');
    // An unknown name is not kept (it may be a password typed in the wrong box).
    expect(JSON.stringify(rows)).not.toContain('nobody.here');
  });

  it('lets the right password through a lock from a device that signed in before, and from no other', async () => {
    const known = deviceCookie(await login('locked.two', TEST_PASSWORD));
    await lockOut('locked.two'); // a stranger, elsewhere
    expect((await login('locked.two', TEST_PASSWORD)).statusCode).toBe(401);
    const forged = known.replace(/\.[\w-]{43}$/, `.${'A'.repeat(43)}`);
    expect((await login('locked.two', TEST_PASSWORD, { cookie: forged })).statusCode).toBe(401);
    const res = await login('locked.two', TEST_PASSWORD, { cookie: known });
    expect(res.statusCode).toBe(200);
    // ...and the other accounts a device remembers are kept beside it.
    const both = deviceCookie(await login('office.one', TEST_PASSWORD, { cookie: deviceCookie(res) }));
    expect(both.split('~')).toHaveLength(2);
  });

  it('a known device that guesses wrong as often as locks an account passes the lock no more', async () => {
    const known = deviceCookie(await login('locked.three', TEST_PASSWORD));
    await lockOut('locked.three', { cookie: known });
    expect((await login('locked.three', TEST_PASSWORD, { cookie: known })).statusCode).toBe(401);
  });

  it('a lock ends when its time is up, however often a stranger tries meanwhile', async () => {
    const start = clock;
    try {
      await lockOut('locked.four');
      for (const minutes of [5, 10, 14]) {
        clock = new Date(start.getTime() + minutes * 60_000);
        expect((await login('locked.four', 'still guessing wrong')).statusCode).toBe(401);
      }
      clock = new Date(start.getTime() + 15 * 60_000 + 1000);
      expect((await login('locked.four', TEST_PASSWORD)).statusCode).toBe(200);
    } finally {
      clock = start;
    }
  });

  it('judges guesses sent together by the lock as it stands when each is checked, not before the burst', async () => {
    // Hashes wait their turn: five wrong guesses sent at once, and the right one sent while they wait
    // for their hashes (so it is checked after them), must not find the account as it was before the
    // first of them locked it.
    const before = hashingStats();
    const wrong = Array.from({ length: 5 }, (_, i) => login('burst.one', `wrong guess ${i} here`));
    while (hashingStats().running + hashingStats().waiting + hashingStats().finished - before.finished < 5)
      await new Promise((r) => setTimeout(r, 5));
    const right = login('burst.one', TEST_PASSWORD);
    const codes = (await Promise.all([...wrong, right])).map((r) => r.statusCode);
    expect(codes).toEqual(Array.from({ length: 6 }, () => 401));
    const { rows } = await db.query<{ locked: boolean }>(
      `SELECT locked_until > $1 AS locked FROM users WHERE username = 'burst.one'`,
      [clock],
    );
    expect(rows[0]!.locked).toBe(true);
    // Six hashes in a row: on a machine whose cores are busy, the low-priority hashing thread takes its time.
  }, 90_000);

  it('refuses sign-ins past the hashing queue at once with a 503, Retry-After and words for the person', async () => {
    // Spraying passwords from many addresses gets past the per-address limit; the queue for the hash
    // thread is what stops it growing without end. A limit of 1 here: the first hashes, the second
    // waits, the rest are refused before any hash.
    const before = limitWaitingHashes(1);
    try {
      const stats = hashingStats();
      // The hashers held until every sign-in has reached its hash (or its refusal): hashes that ran
      // could end before the last sign-in got there, and nothing would be refused.
      const all = await withHashersStopped(async () => {
        const all = Array.from({ length: 2 + MAX_CONCURRENT_HASHES }, (_, i) =>
          login('office.one', `spray ${i} spray`),
        );
        await until(
          () => hashingStats().refused > stats.refused && hashingStats().waiting === 1,
          20_000,
          'one sign-in waiting, one refused',
        );
        return all;
      });
      const answers = await Promise.all(all);
      const busy = answers.filter((r) => r.statusCode === 503);
      expect(answers.filter((r) => r.statusCode === 401)).toHaveLength(1 + MAX_CONCURRENT_HASHES);
      expect(busy).toHaveLength(1);
      expect(busy[0]!.headers['retry-after']).toBe('10');
      expect(busy[0]!.json()).toEqual({
        code: 'DOORSTEP_SERVICE_UNAVAILABLE',
        message: 'too many sign-ins are being checked at once: try again in 10 seconds',
      });
      expect(hashingStats().refused - stats.refused).toBe(1);
    } finally {
      limitWaitingHashes(before);
    }
    // The queue drained: the right password signs in again.
    expect((await login('office.one', TEST_PASSWORD)).statusCode).toBe(200);
  }, 90_000);

  /** Six sign-ins at once (scrypt queues them) against a limit of 5 an address: how many were refused, how many limited. */
  const overLimit = async (attempt: (i: number) => Promise<LightMyRequestResponse>) => {
    const codes = (await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(i)))).map(
      (r) => r.statusCode,
    );
    return { refused: codes.filter((c) => c === 401).length, limited: codes.filter((c) => c === 429).length };
  };
  const attempt = (on: FastifyInstance, i: number, remoteAddress: string, forwardedFor?: string) =>
    on.inject({
      method: 'POST',
      url: '/api/login',
      payload: { username: `user${i}`, password: 'guess guess guess' },
      remoteAddress,
      ...(forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {}),
    });

  it('limits sign-in attempts from one address, whichever accounts they try, across every web process', async () => {
    const [one, two] = [await webProcess(), await webProcess()];
    expect(await overLimit((i) => attempt(i % 2 ? one : two, i, '203.0.113.9'))).toEqual({
      refused: 5,
      limited: 1,
    });
  });

  it('behind a configured proxy counts the address the proxy saw, not what the client wrote', async () => {
    const proxied = await webProcess(true);
    // The proxy (10.0.0.2) appends the address it saw after whatever the client sent.
    const viaProxy = (i: number, client: string) =>
      attempt(proxied, i, '10.0.0.2', `192.0.2.${i}, ${client}`);
    expect(await overLimit((i) => viaProxy(i, '203.0.113.77'))).toEqual({ refused: 5, limited: 1 });
    // Another client behind the same proxy is counted on its own.
    expect((await viaProxy(0, '203.0.113.78')).statusCode).toBe(401);
    // Without a configured proxy the header means nothing: the peer is the address.
    const direct = await webProcess(false);
    expect(await overLimit((i) => attempt(direct, i, '203.0.113.79', `192.0.2.${i}`))).toEqual({
      refused: 5,
      limited: 1,
    });
  });

  it('takes JSON only (a cross-site form cannot post the sign-in)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: `username=office.one&password=${encodeURIComponent(TEST_PASSWORD)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(415);
  });

  it("signs the next person in on a browser still holding the last one's session (no token asked)", async () => {
    // A shared office PC: Ann's cookie is live, Bob's sign-in page has no token to send.
    const ann = await login('office.one', TEST_PASSWORD);
    const annCookie = `doorstep_session=${ann.cookies.find((c) => c.name === 'doorstep_session')!.value}`;
    const bob = await login('office.two', TEST_PASSWORD, { cookie: annCookie });
    expect(bob.statusCode).toBe(200);
    const bobSession = bob.cookies.find((c) => c.name === 'doorstep_session')!.value;
    const me = await app.inject({ url: '/api/me', headers: { cookie: `doorstep_session=${bobSession}` } });
    expect(me.json().user.displayName).toBe('office.two');
    // Still JSON only with a session present: a cross-site form cannot post it.
    const form = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: `username=office.two&password=${encodeURIComponent(TEST_PASSWORD)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: annCookie },
    });
    expect(form.statusCode).toBe(415);
  });

  it('refuses a state change without the CSRF token, and sign-out ends the session', async () => {
    const res = await login('office.one', TEST_PASSWORD);
    const cookie = `doorstep_session=${res.cookies.find((c) => c.name === 'doorstep_session')!.value}`;
    const { csrfToken } = (await app.inject({ url: '/api/me', headers: { cookie } })).json();
    const noToken = await app.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { cookie },
      payload: {},
    });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json().code).toBe('DOORSTEP_CSRF');
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { cookie, 'x-csrf-token': `${csrfToken}x` },
      payload: {},
    });
    expect(wrong.statusCode).toBe(403);
    const out = await app.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { cookie, 'x-csrf-token': csrfToken },
      payload: {},
    });
    expect(out.statusCode).toBe(200);
    expect((await app.inject({ url: '/api/me', headers: { cookie } })).statusCode).toBe(401);
  });

  it('serves pages with a strict Content-Security-Policy', async () => {
    const res = await app.inject({ url: '/login' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<form id="login"');
  });
});
