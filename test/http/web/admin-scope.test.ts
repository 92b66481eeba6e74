import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import { appendAudit } from '../../../src/store/audit.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';
import { twoSchoolConfig } from '../two-schools.ts';

const schema = uniqueName('adminscope');
const prefix = uniqueName('adminscope');
const config = twoSchoolConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const u: Record<string, User> = {};
const as = new Map<string, { cookie: string; csrf: string }>();

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix, publisher: conn });
  u.trustAdmin = await addUser(db, 'trust.admin', ['admin']);
  u.alphaAdmin = await addUser(db, 'alpha.admin', ['admin'], { schools: ['alpha'] });
  u.alphaOffice = await addUser(db, 'alpha.office', ['office'], { schools: ['alpha'] });
  u.betaOffice = await addUser(db, 'beta.office', ['office'], { schools: ['beta'] });
  u.bothOffice = await addUser(db, 'both.office', ['office'], { schools: ['alpha', 'beta'] });
  for (const k of ['trustAdmin', 'alphaAdmin']) as.set(k, await sessionFor(db, u[k]!));
  await appendAudit(db, { actor: `user:${u.alphaOffice!.id}`, action: 'test.alpha', schoolId: 'alpha' });
  await appendAudit(db, { actor: `user:${u.betaOffice!.id}`, action: 'test.beta', schoolId: 'beta' });
  await appendAudit(db, { actor: `user:${u.alphaOffice!.id}`, action: 'auth.signed-in' });
  await appendAudit(db, { actor: `user:${u.betaOffice!.id}`, action: 'auth.signed-in' });
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({
    method,
    url,
    headers: { cookie: as.get(who)!.cookie, 'x-csrf-token': as.get(who)!.csrf },
    ...(payload ? { payload } : {}),
  });
const account = (username: string, schools: string[], roles = ['office']) => ({
  username,
  displayName: username,
  password: 'a long enough password',
  roles,
  schools,
});

describe("an admin of some schools manages those schools' accounts and audit only", () => {
  it('lists only the accounts its schools cover', async () => {
    const names = (await call('alphaAdmin', 'GET', '/api/users')).json().users.map((x: User) => x.username);
    expect(names.sort()).toEqual(['alpha.admin', 'alpha.office']);
    const all = (await call('trustAdmin', 'GET', '/api/users')).json().users.map((x: User) => x.username);
    expect(all).toHaveLength(5);
  });

  it('creates accounts, admins included, for its own schools only, and never a trust-wide one', async () => {
    expect((await call('alphaAdmin', 'POST', '/api/users', account('alpha.two', ['alpha']))).statusCode).toBe(
      201,
    );
    expect(
      (await call('alphaAdmin', 'POST', '/api/users', account('alpha.admin2', ['alpha'], ['admin'])))
        .statusCode,
    ).toBe(201);
    const beta = await call('alphaAdmin', 'POST', '/api/users', account('beta.two', ['beta'], ['admin']));
    expect(beta.statusCode).toBe(403);
    expect(beta.json().message).toMatch(/schools: you can give only your own schools \(alpha\)/);
    const trust = await call('alphaAdmin', 'POST', '/api/users', account('trust.two', [], ['admin']));
    expect(trust.statusCode).toBe(403);
    expect(trust.json().message).toMatch(/only a trust-wide admin/);
    expect((await call('trustAdmin', 'POST', '/api/users', account('trust.three', []))).statusCode).toBe(201);
  });

  it("changes only accounts its schools cover; another school's account answers as if it did not exist", async () => {
    expect((await call('alphaAdmin', 'POST', `/api/users/${u.alphaOffice!.id}/unlock`, {})).statusCode).toBe(
      200,
    );
    for (const target of [u.betaOffice!, u.bothOffice!, u.trustAdmin!]) {
      const res = await call('alphaAdmin', 'POST', `/api/users/${target.id}/password`, {
        password: 'attacker chosen password',
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().message).toBe(`no user ${target.id}`);
    }
    expect((await call('trustAdmin', 'POST', `/api/users/${u.bothOffice!.id}/unlock`, {})).statusCode).toBe(
      200,
    );
  });

  it("reads its schools' audit and its own accounts' sign-ins, refused another school's", async () => {
    const entries = (await call('alphaAdmin', 'GET', '/api/audit')).json().entries as {
      action: string;
      actor: string;
      school_id: string | null;
    }[];
    const seen = entries.map((e) => `${e.action} ${e.actor}`);
    expect(seen).toContain(`test.alpha user:${u.alphaOffice!.id}`);
    expect(seen).toContain(`auth.signed-in user:${u.alphaOffice!.id}`);
    expect(seen.some((s) => s.includes(`user:${u.betaOffice!.id}`))).toBe(false);
    expect(entries.every((e) => e.school_id === null || e.school_id === 'alpha')).toBe(true);
    const csv = await call('alphaAdmin', 'GET', '/api/audit.csv');
    expect(csv.body).toContain('test.alpha');
    expect(csv.body).not.toContain('test.beta');
    expect((await call('alphaAdmin', 'GET', '/api/audit?school=beta')).statusCode).toBe(403);
    expect((await call('alphaAdmin', 'GET', '/api/audit.csv?school=beta')).statusCode).toBe(403);
    const trust = (await call('trustAdmin', 'GET', '/api/audit'))
      .json()
      .entries.map((e: { action: string }) => e.action);
    expect(trust).toEqual(expect.arrayContaining(['test.alpha', 'test.beta']));
  });

  it('tells the page whether the admin may give every school', async () => {
    expect((await call('alphaAdmin', 'GET', '/api/me')).json().user.trustWide).toBe(false);
    expect((await call('trustAdmin', 'GET', '/api/me')).json().user.trustWide).toBe(true);
  });
});
