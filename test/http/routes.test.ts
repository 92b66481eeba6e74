import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type UserRole } from '../../src/auth/roles.ts';
import { allows, OWN_AUTH, registerAccess } from '../../src/http/access.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import type { User } from '../../src/store/users.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

const schema = uniqueName('routes');
const prefix = uniqueName('routes');
const config = configWith();
let db: Db;
let app: FastifyInstance;
const users = new Map<UserRole, User>();

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  app = await buildWebApp(config, db, { prefix });
  for (const role of ROLES) users.set(role, await addUser(db, `user-${role}`, [role]));
});
afterAll(async () => {
  await app.close();
  await db.close();
  await dropSchema(schema);
});

const concrete = (url: string) => url.replace(/:id/g, '999999').replace(/\*$/, 'app.css');
const isPage = (method: string, url: string) =>
  method === 'GET' && !url.startsWith('/api/') && url !== '/board/events';

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

  it("each route answers each role by its rule: 401 / sign-in for nobody, 403 for a role it doesn't allow", async () => {
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
      for (const role of ROLES) {
        const user = users.get(role)!;
        const { cookie, csrf } = await sessionFor(db, user);
        const res = await app.inject({
          method: r.method as 'GET',
          url,
          headers: { cookie, 'x-csrf-token': csrf },
          ...(r.method === 'POST' ? { payload: {} } : {}),
        });
        const allowed = allows(r.access, user);
        if (allowed)
          expect([401, 403], `${role} ${r.method} ${url} → ${res.statusCode}`).not.toContain(res.statusCode);
        else expect(res.statusCode, `${role} ${r.method} ${url}`).toBe(403);
        checked.push(`${role} ${r.method} ${r.url} ${allowed ? 'allowed' : 'denied'}`);
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
    expect(checked).toContain('office POST /api/visits/:id/authorise denied');
    expect(checked).toContain('safeguarding POST /api/visits/:id/authorise allowed');
    expect(checked).toContain('visiting-staff POST /api/visits/:id/check-in allowed');
    expect(checked).toContain('office GET /api/audit.csv denied');
  });
});
