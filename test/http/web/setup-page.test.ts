import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashingStats } from '../../../src/auth/password.ts';
import { newSetupToken } from '../../../src/auth/setup-link.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { configWith } from '../../helpers/config.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp } from '../../helpers/web.ts';

const schema = uniqueName('setup');
const prefix = uniqueName('setup');
let db: Db;
let conn: Redis;
let app: FastifyInstance;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(configWith(), db, { prefix, publisher: conn });
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

describe('a first run with no accounts', () => {
  it('the sign-in page carries a hidden link to the setup page, shown when the server says no account exists', () => {
    const login = readFileSync('web/pages/login.html', 'utf8');
    expect(login).toMatch(
      /<p id="first-run" hidden>[\s\S]*<a href="\/setup">How to create the first admin<\/a>/,
    );
    expect(readFileSync('web/assets/login.js', 'utf8')).toContain("fetch('/api/first-run'");
  });

  it('without a good one-time link: explains where the link is and the CLI way, and offers no form', async () => {
    expect((await app.inject('/api/first-run')).json()).toEqual({ needsFirstAdmin: true });
    const page = await app.inject('/setup');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    // Its address can carry the one-time token: it is never sent on as a referrer (review: the
    // pages' shared header overwrote this with same-origin).
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).toContain(
      'npx doorstep user add --config &#60;the config file Doorstep runs with&#62;',
    );
    expect(page.body).toContain('--roles admin,office');
    expect(page.body).toContain('in a second terminal (Doorstep keeps running)');
    expect(page.body).not.toMatch(/stop it first/);
    expect(page.body).toContain('one-time link');
    expect(page.body).not.toMatch(/<form|<script|<input/);
    // A made-up or malformed token gets the same page, saying the link is no good.
    for (const token of ['x'.repeat(43), 'short', '<script>']) {
      const bad = await app.inject(`/setup?token=${encodeURIComponent(token)}`);
      expect(bad.body).not.toMatch(/<form/);
      expect(bad.body).toContain('used or has expired');
    }
  });

  it('an expired link makes nobody admin', async () => {
    const token = await newSetupToken(db, new Date(Date.now() - 61 * 60_000));
    expect((await app.inject(`/setup?token=${token}`)).body).not.toMatch(/<form/);
    const r = await app.inject({
      method: 'POST',
      url: '/api/setup',
      payload: { token, username: 'late', displayName: 'Late', password: 'correct horse battery' },
    });
    expect(r.statusCode).toBe(403);
    expect(r.json().message).toMatch(/used or has expired/);
  });

  it('with the link doorstep start printed: a form that makes the first admin once, then the link is spent', async () => {
    const token = await newSetupToken(db, new Date());
    const page = await app.inject(`/setup?token=${token}`);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toMatch(/<form id="setup"/);
    expect(page.body).toContain(`value="${token}"`);
    expect(page.body).toContain('src="/assets/setup.js"');

    const post = (body: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/api/setup', payload: body });
    const who = { username: 'ada.admin', displayName: 'Ada Admin', password: 'correct horse battery' };
    // Bad input is named, and spends nothing.
    const weak = await post({ ...who, token, password: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().message).toMatch(/^password: /);
    // A link that is no link costs the server no password hash.
    const hashed = hashingStats().finished;
    const forged = await post({ ...who, token: 'y'.repeat(43) });
    expect(forged.statusCode, forged.body).toBe(403);
    expect(hashingStats().finished).toBe(hashed);

    const made = await post({ ...who, token });
    expect(made.statusCode).toBe(201);
    expect(made.json()).toEqual({ created: 'ada.admin', signIn: '/login' });
    const signIn = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: { username: 'ada.admin', password: who.password },
    });
    expect(signIn.statusCode).toBe(200);
    const { rows } = await db.query<{ roles: string[]; schools: string[] }>(
      "SELECT roles, schools FROM users WHERE username = 'ada.admin'",
    );
    expect(rows[0]).toEqual({ roles: ['admin', 'office'], schools: [] });
    const audit = await db.query<{ actor: string }>(
      "SELECT actor FROM audit_log WHERE action = 'user.created' AND after->>'username' = 'ada.admin'",
    );
    expect(audit.rows).toEqual([{ actor: 'system:setup-link' }]);

    // Spent: a second admin cannot be made with it, nor with a fresh link now that an account exists
    // — and neither try costs a password hash.
    const before = hashingStats().finished;
    expect((await post({ ...who, username: 'eve', token })).statusCode).toBe(409);
    const fresh = await newSetupToken(db, new Date());
    expect((await post({ ...who, username: 'eve', token: fresh })).statusCode).toBe(409);
    expect(hashingStats().finished).toBe(before);
    expect((await app.inject(`/setup?token=${fresh}`)).body).not.toMatch(/<form/);
  });

  it('once an account exists, says only to ask the admin', async () => {
    await addUser(db, 'first-admin', ['admin']);
    expect((await app.inject('/api/first-run')).json()).toEqual({ needsFirstAdmin: false });
    const page = await app.inject('/setup');
    expect(page.body).toContain('ask your Doorstep admin');
    expect(page.body).not.toContain('npx doorstep user add');
  });
});
