import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../src/domain/roles.ts';
import { allows, OWN_AUTH, registerAccess } from '../../src/http/access.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { getOutbox, insertOutbox, markFailed } from '../../src/store/outbox.ts';
import type { User } from '../../src/store/users.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';
import { twoSchoolConfig } from './two-schools.ts';

const schema = uniqueName('routes');
const prefix = uniqueName('routes');
const config = twoSchoolConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
/** Every role (trust-wide), and an admin of school alpha only. */
const users = new Map<string, User>();
const SCOPED_ADMIN = 'admin@alpha';

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix, publisher: conn });
  for (const role of ROLES) users.set(role, await addUser(db, `user-${role}`, [role]));
  users.set(SCOPED_ADMIN, await addUser(db, 'admin-alpha', ['admin'], { schools: ['alpha'] }));
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, prefix);
  await db.close();
  await dropSchema(schema);
});

const concrete = (url: string, id = '999999') => url.replace(/:id/g, id).replace(/:name$/, 'app.css');
const isPage = (method: string, url: string) =>
  method === 'GET' && !url.startsWith('/api/') && url !== '/board/events';

async function as(who: string, method: string, url: string, payload?: object) {
  const { cookie, csrf } = await sessionFor(db, users.get(who)!);
  return app.inject({
    method: method as 'GET',
    url,
    headers: { cookie, 'x-csrf-token': csrf },
    ...(method === 'POST' ? { payload: payload ?? {} } : {}),
  });
}

describe('the route table', () => {
  it('every served route declares who may call it, or authenticates by its own scheme', () => {
    expect(app.doorstepRoutes.length).toBeGreaterThan(20);
    for (const r of app.doorstepRoutes) {
      if (r.access === undefined)
        expect(
          OWN_AUTH.some((p) => r.url.startsWith(p)),
          `${r.method} ${r.url}`,
        ).toBe(true);
    }
  });

  it('a route without an access rule is refused when the app is built', async () => {
    const bare = Fastify();
    registerAccess(bare, db);
    expect(() => bare.get('/api/forgot', async () => 'x')).toThrow(/declares no access rule/);
    await bare.close();
  });

  it("each route answers each role, and a school's admin, by its rule: 401 / sign-in for nobody, 403 for a role it doesn't allow", async () => {
    const checked: string[] = [];
    for (const r of app.doorstepRoutes) {
      if (r.access === undefined || r.access === 'public') continue;
      const url = concrete(r.url);
      const anon = await app.inject({
        method: r.method as 'GET',
        url,
        payload: r.method === 'POST' ? {} : undefined,
      });
      if (isPage(r.method, r.url)) {
        expect(anon.statusCode, `anonymous ${r.method} ${url}`).toBe(302);
        expect(anon.headers.location).toMatch(/^\/login\?next=/);
      } else expect(anon.statusCode, `anonymous ${r.method} ${url}`).toBe(401);
      for (const [who, user] of users) {
        const res = await as(who, r.method, url);
        const allowed = allows(r.access, user);
        if (allowed)
          expect([401, 403], `${who} ${r.method} ${url} → ${res.statusCode}`).not.toContain(res.statusCode);
        else expect(res.statusCode, `${who} ${r.method} ${url}`).toBe(403);
        checked.push(`${who} ${r.method} ${r.url} ${allowed ? 'allowed' : 'denied'}`);
        if (url === '/board/events' && allowed) res.raw.req?.destroy?.();
      }
    }
    // The rules the issue names, spelled out.
    expect(checked).toContain('office GET /audit denied');
    expect(checked).toContain('admin GET /audit allowed');
    expect(checked).toContain('office GET /board allowed');
    expect(checked).toContain('visiting-staff GET /board denied');
    expect(checked).toContain('data-manager GET /data allowed');
    expect(checked).toContain('office GET /data denied');
    // The door lets staff through; the visit lifecycle then admits exactly the pack's authorisers
    // (roles or positions: a headteacher may hold the office role), tested in test/visits.
    expect(checked).toContain('data-manager POST /api/visits/:id/authorise denied');
    expect(checked).toContain('safeguarding POST /api/visits/:id/authorise allowed');
    expect(checked).toContain('visiting-staff POST /api/visits/:id/check-in allowed');
    expect(checked).toContain('office GET /api/audit.csv denied');
    // Who sees the failed records (the data page) retries and dismisses them; no one else.
    for (const action of ['retry', 'dismiss']) {
      expect(checked).toContain(`data-manager POST /api/outbox/:id/${action} allowed`);
      expect(checked).toContain(`admin POST /api/outbox/:id/${action} allowed`);
      expect(checked).toContain(`safeguarding POST /api/outbox/:id/${action} denied`);
      expect(checked).toContain(`office POST /api/outbox/:id/${action} denied`);
    }
    expect(checked).toContain(`${SCOPED_ADMIN} GET /api/users allowed`);
    expect(checked).toContain(`${SCOPED_ADMIN} GET /api/audit allowed`);
  });

  it("a school's admin is refused the other school's board, data, visits, audit and accounts", async () => {
    const other = await addUser(db, 'office-beta', ['office'], { schools: ['beta'] });
    const both = await addUser(db, 'office-both', ['office'], { schools: ['alpha', 'beta'] });
    const trustWide = users.get('office')!;
    const refused: [string, string, object?][] = [
      ['GET', '/api/board?school=beta'],
      ['GET', '/board/events?school=beta'],
      ['GET', '/api/data?school=beta'],
      ['GET', '/api/visits?school=beta'],
      ['GET', '/api/audit?school=beta'],
      ['GET', '/api/audit.csv?school=beta'],
      ['GET', '/visits/list?school=beta'],
      ['POST', '/api/data/test-connection', { school: 'beta', connector: 'records' }],
    ];
    // A record of beta's that failed: neither retried nor dismissed by alpha's admin.
    const betaRecord = await db.transaction(
      async (tx) =>
        (await insertOutbox(tx, {
          schoolId: 'beta',
          kind: 'trigger_note',
          pupilIds: ['b1'],
          title: 'Trigger',
          body: 'Body',
          occurredAt: new Date(),
          sink: 'cpoms',
          idempotencyKey: 'beta-failed',
          sourceType: 'test',
          sourceId: 'beta-failed',
        }))!,
    );
    await markFailed(db, (await getOutbox(db, betaRecord))!, 'CPOMS incident: HTTP 502');
    refused.push(
      ['POST', `/api/outbox/${betaRecord}/retry`],
      ['POST', `/api/outbox/${betaRecord}/dismiss`, { reason: 'recorded by hand in CPOMS' }],
    );
    for (const account of [other, both, trustWide])
      for (const action of ['disable', 'enable', 'unlock', 'password'])
        refused.push([
          'POST',
          `/api/users/${account.id}/${action}`,
          action === 'password' ? { password: 'a new long password' } : {},
        ]);
    for (const schools of [['beta'], ['alpha', 'beta'], []])
      refused.push([
        'POST',
        '/api/users',
        {
          username: `new-${schools.join('-') || 'trust'}`,
          displayName: 'New',
          password: 'a long enough password',
          roles: ['office'],
          schools,
        },
      ]);
    for (const [method, url, body] of refused) {
      const res = await as(SCOPED_ADMIN, method, url, body);
      expect([403, 404], `${SCOPED_ADMIN} ${method} ${url} → ${res.statusCode} ${res.body}`).toContain(
        res.statusCode,
      );
    }
    // Nothing changed for those accounts.
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM users WHERE disabled OR username LIKE 'new-%'`,
    );
    expect(rows[0]!.n).toBe(0);
    expect((await getOutbox(db, betaRecord))!.status).toBe('failed');
  });

  it('bad ids and dates answer 400 or 404, never a 500 or a database code', async () => {
    const bad = ['abc', '99999999999999999999', '-1', '0'];
    const queries = [
      '?school=alpha&date=2025-02-30',
      '?school=alpha&date=9999999-01-01',
      '?before=99999999999999999999',
      '?from=2025-02-30',
      '?to=2025-13-01',
      '?school=alpha&q=%25',
    ];
    for (const r of app.doorstepRoutes) {
      if (r.access === undefined || r.access === 'public' || r.url === '/board/events') continue;
      const urls = r.url.includes(':id')
        ? bad.map((id) => concrete(r.url, id))
        : r.method === 'GET'
          ? queries.map((q) => `${r.url}${q}`)
          : [r.url];
      for (const url of urls) {
        const res = await as('admin', r.method, url);
        const what = `${r.method} ${url} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect(res.statusCode, what).toBeLessThan(500);
        if (res.headers['content-type']?.includes('json')) {
          const body = res.json() as { code?: string };
          if (body.code !== undefined) expect(body.code, what).toMatch(/^DOORSTEP_/);
        }
      }
    }
  });
});
