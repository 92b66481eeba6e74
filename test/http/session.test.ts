import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, passwordProblem, verifyPassword } from '../../src/auth/password.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addUser, buildWebApp, TEST_PASSWORD } from '../helpers/web.ts';

const schema = uniqueName('session');
const config = configWith();
let db: Db;
let app: FastifyInstance;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  app = await buildWebApp(config, db, { prefix: uniqueName('session') });
  await addUser(db, 'office.one', ['office']);
  await addUser(db, 'locked.one', ['office']);
});
afterAll(async () => {
  await app.close();
  await db.close();
  await dropSchema(schema);
});

const login = (username: string, password: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/api/login', payload: { username, password }, headers });

describe('passwords', () => {
  it('are stored as salted scrypt hashes and verified in constant time', async () => {
    const a = await hashPassword('a long enough passphrase');
    const b = await hashPassword('a long enough passphrase');
    expect(a).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('a long enough passphrase', a)).toBe(true);
    expect(await verifyPassword('a long enough passphrasE', a)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
    expect(passwordProblem('short')).toMatch(/12 characters/);
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
    const me = await app.inject({ url: '/api/me', headers: { cookie: cookie.split(';')[0]! } });
    expect(me.json().user.displayName).toBe('office.one');
    expect(me.json().csrfToken).toMatch(/^[\w-]{40,}$/);
  });

  it('answers a wrong password and an unknown user alike', async () => {
    const a = await login('office.one', 'wrong password here');
    const b = await login('nobody.here', 'wrong password here');
    expect(a.statusCode).toBe(401);
    expect(b.statusCode).toBe(401);
    expect(a.json()).toEqual(b.json());
  });

  it('locks the account after 5 failures, even for the right password', async () => {
    for (let i = 0; i < 5; i++)
      expect((await login('locked.one', `wrong ${i} password`)).statusCode).toBe(401);
    const res = await login('locked.one', TEST_PASSWORD);
    expect(res.statusCode).toBe(429);
    expect(res.json().message).toMatch(/locked/);
    const { rows } = await db.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE action LIKE 'auth.%' ORDER BY id`,
    );
    expect(rows.map((r) => r.action)).toContain('auth.locked');
    expect(rows.map((r) => r.action)).toContain('auth.locked-out');
  });

  it('limits sign-in attempts from one address, whichever accounts they try (password spraying)', async () => {
    const remote = '203.0.113.9';
    const attempt = (i: number) =>
      app.inject({
        method: 'POST',
        url: '/api/login',
        payload: { username: `user${i}`, password: 'guess guess guess' },
        remoteAddress: remote,
      });
    const codes: number[] = [];
    for (let i = 0; i < 31; i++) codes.push((await attempt(i)).statusCode);
    expect(codes.slice(0, 30).every((c) => c === 401)).toBe(true);
    expect(codes[30]).toBe(429);
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

  it('refuses a state change without the CSRF token, and sign-out ends the session', async () => {
    const cookie = String((await login('office.one', TEST_PASSWORD)).headers['set-cookie']).split(';')[0]!;
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
