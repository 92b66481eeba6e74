import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editAccount } from '../../src/auth/accounts.ts';
import { visitRulesLookup } from '../../src/config/policy-packs.ts';
import { connectRedis } from '../../src/queue/redis.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { createSession, sessionUser, type User, userById } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { dropRedisPrefix } from '../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';
import { addPupils, departTold, visitSchoolsConfig } from '../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../helpers/web.ts';

/**
 * Accounts could be made, disabled and given a password, never changed: a wrong escalation number, a
 * role to take away or a fob staff id meant a new account (newcomer walk). An admin now changes them —
 * within what they may give, never their own admin, audited — and a change of scope signs the person
 * out everywhere; who they are on a fob or what they may do does not change while they are out.
 */
const schema = uniqueName('acct_edit');
const config = visitSchoolsConfig('');
const now = new Date();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let vdeps: VisitDeps;
const u: Record<string, User> = {};
const as = new Map<string, { cookie: string; csrf: string }>();

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, publisher: conn });
  vdeps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now };
  await addPupils(db, ['hampton']);
  u.admin = await addUser(db, 'hampton.admin', ['admin', 'office'], { schools: ['hampton'] });
  u.worker = await addUser(db, 'wendy', ['visiting-staff'], { schools: ['hampton'], phone: '+447700900111' });
  u.partner = await addUser(db, 'pat', ['visiting-staff'], { schools: ['hampton'], phone: '+447700900222' });
  u.other = await addUser(db, 'lime.office', ['office'], { schools: ['lime'] });
  u.wearer = await addUser(db, 'fob.wearer', ['visiting-staff'], {
    schools: ['hampton'],
    staffId: 'st-9',
    phone: '+447700900999',
  });
  as.set('admin', await sessionFor(db, u.admin));
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const edit = (id: string, payload: object) =>
  app.inject({
    method: 'POST',
    url: `/api/users/${id}`,
    headers: { cookie: as.get('admin')!.cookie, 'x-csrf-token': as.get('admin')!.csrf },
    payload,
  });

describe('an account changed', () => {
  it('a wrong escalation number corrected: only what was given changes; audited without the number', async () => {
    const phone = await createSession(db, u.worker!.id, 3_600_000, new Date());
    const r = await edit(u.worker!.id, { phone: '+447700900333' });
    expect(r.json()).toEqual({ ok: true, sessionsEnded: false });
    const after = await userById(db, u.worker!.id);
    expect(after).toMatchObject({ phone: '+447700900333', roles: ['visiting-staff'], displayName: 'wendy' });
    expect(await sessionUser(db, phone.token, new Date())).toBeTruthy();
    const { rows } = await db.query<{ after: Record<string, unknown> }>(
      `SELECT d.after FROM audit_entries e JOIN audit_details d ON d.audit_id = e.id
       WHERE e.action = 'user.changed' AND e.entity_id = $1`,
      [u.worker!.id],
    );
    expect(rows.map((x) => x.after)).toEqual([{ username: 'wendy', phone: 'changed' }]);
    expect(JSON.stringify(rows)).not.toContain('900333');
    // Cleared with null; the same again changes (and audits) nothing.
    expect((await edit(u.worker!.id, { email: null })).statusCode).toBe(200);
    expect((await edit(u.worker!.id, { phone: '+447700900333' })).json()).toEqual({
      ok: true,
      sessionsEnded: false,
    });
  });

  it('a role given or taken: the person is signed out everywhere, to sign in with the new scope', async () => {
    const s = await createSession(db, u.partner!.id, 3_600_000, new Date());
    const r = await edit(u.partner!.id, { roles: ['visiting-staff', 'office'] });
    expect(r.json()).toEqual({ ok: true, sessionsEnded: true });
    expect(await sessionUser(db, s.token, new Date())).toBeFalsy();
    expect((await userById(db, u.partner!.id))!.roles).toEqual(['visiting-staff', 'office']);
  });

  it('refuses what the admin may not give, another school’s account, their own admin, a taken staff id, bad fields', async () => {
    const cases: [string, object, number, RegExp][] = [
      [u.worker!.id, { positions: ['headteacher'] }, 403, /^positions: only a trust-wide admin gives/],
      [u.worker!.id, { schools: ['hampton', 'lime'] }, 403, /^schools: you can give only your own schools/],
      [u.other!.id, { phone: '+447700900444' }, 404, /^no user /],
      [u.admin!.id, { roles: ['office'] }, 403, /cannot take admin from your own account/],
      // Whose it is, so the admin can find the other account.
      [
        u.worker!.id,
        { staffId: 'st-9' },
        409,
        /^staffId: "st-9" is already fob\.wearer's \(one person per fob staff id\)/,
      ],
      [
        u.worker!.id,
        { phone: 'call the office' },
        400,
        /^phone: expected a phone number such as 07700 900123/,
      ],
      [u.worker!.id, { roles: [] }, 400, /^roles: expected some of/],
      [u.worker!.id, { username: 'renamed' }, 400, /username/],
    ];
    for (const [id, body, status, message] of cases) {
      const r = await edit(id, body);
      expect({ body, status: r.statusCode, message: r.json().message }).toEqual({
        body,
        status,
        message: expect.stringMatching(message),
      });
    }
    expect((await edit('99999999', { phone: '+447700900444' })).statusCode).toBe(404);
  });

  it('a mobile typed as people write it ("07700 900111") is kept in the form the SMS and call providers take', async () => {
    expect((await edit(u.worker!.id, { phone: '07700 900111' })).statusCode).toBe(200);
    expect((await userById(db, u.worker!.id))!.phone).toBe('+447700900111');
    expect((await edit(u.worker!.id, { phone: '+44 7700-900112' })).statusCode).toBe(200);
    expect((await userById(db, u.worker!.id))!.phone).toBe('+447700900112');
    // The "(0)" written after a country code is not dialled.
    expect((await edit(u.worker!.id, { phone: '+44 (0)7700 900113' })).statusCode).toBe(200);
    expect((await userById(db, u.worker!.id))!.phone).toBe('+447700900113');
    expect((await edit(u.worker!.id, { phone: '+44 07700 900114' })).statusCode).toBe(400);
  });

  it('roles, schools or fob staff id do not change while the person is out, unless asked anyway; a phone does', async () => {
    const id = await requestVisit(vdeps, u.wearer!, {
      schoolId: 'hampton',
      pupilMisId: 'P1',
      reason: 'welfare',
    });
    await departTold(vdeps, u.wearer!, id, {
      expectedReturnAt: new Date(now.getTime() + 3_600_000),
      partnerUserId: u.worker!.id,
      risksRead: true,
    });
    for (const body of [{ roles: ['visiting-staff', 'office'] }, { staffId: null }]) {
      const r = await edit(u.wearer!.id, body);
      expect({ status: r.statusCode, message: r.json().message }).toEqual({
        status: 409,
        message: expect.stringContaining(`fob.wearer is out on visit ${id} now`),
      });
    }
    expect((await edit(u.wearer!.id, { phone: '+447700900555' })).statusCode).toBe(200);
    await editAccount(db, config, u.wearer!.id, { staffId: 'st-10', whileOut: true }, 'system:cli');
    expect((await userById(db, u.wearer!.id))!.staffId).toBe('st-10');
  });
});
