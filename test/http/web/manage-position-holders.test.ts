import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeAccount } from '../../../src/auth/accounts.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { type User, userById } from '../../../src/store/users.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor, TEST_PASSWORD } from '../../helpers/web.ts';

/**
 * Found by review: a school's admin without positions could not give 'headteacher', but could take
 * the real headteacher's account — set its password and sign in as the head, or put their own phone
 * on it so SMS replies counted as the head's. A school's admin now manages only accounts whose
 * positions they hold themselves (any other answers 404, as an account of another school does); a
 * trust-wide admin and the CLI still manage every position's holder.
 */
const schema = uniqueName('manpos');
const config = visitSchoolsConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const now = new Date('2026-11-23T09:00:00Z');
const users: Record<string, User> = {};
const as = new Map<string, { cookie: string; csrf: string }>();
const NEW_PASSWORD = 'the admin chose this one';

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  await addPupils(db, ['thames']);
  users.admin = await addUser(db, 'thames.admin', ['admin'], { schools: ['thames'], phone: '+447700900001' });
  as.set('admin', await sessionFor(db, users.admin));
  users.dslAdmin = await addUser(db, 'thames.dsl', ['admin'], { schools: ['thames'], positions: ['dsl'] });
  as.set('dslAdmin', await sessionFor(db, users.dslAdmin));
  users.trust = await addUser(db, 'trust.admin', ['admin'], { schools: [] });
  as.set('trust', await sessionFor(db, users.trust));
  users.head = await addUser(db, 'thames.head', ['visiting-staff'], {
    schools: ['thames'],
    positions: ['headteacher'],
    phone: '+447700900099',
  });
  users.dsl2 = await addUser(db, 'thames.dsl2', ['visiting-staff'], {
    schools: ['thames'],
    positions: ['dsl'],
  });
  users.staff = await addUser(db, 'thames.staff', ['visiting-staff'], { schools: ['thames'] });
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const post = (who: string, url: string, payload: object = {}) => {
  const s = as.get(who)!;
  return app.inject({
    method: 'POST',
    url,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    payload,
  });
};
const signIn = (username: string, password: string) =>
  app.inject({ method: 'POST', url: '/api/login', payload: { username, password } });

describe("a school's admin does not take a position holder's account", () => {
  it("cannot set the headteacher's password, disable, unlock or edit them: 404, nothing changed", async () => {
    const head = users.head!.id;
    const pw = await post('admin', `/api/users/${head}/password`, { password: NEW_PASSWORD });
    expect(pw.statusCode).toBe(404);
    expect((await signIn('thames.head', NEW_PASSWORD)).statusCode).toBe(401);
    expect((await signIn('thames.head', TEST_PASSWORD)).statusCode).toBe(200);
    for (const action of ['disable', 'enable', 'unlock'])
      expect((await post('admin', `/api/users/${head}/${action}`)).statusCode).toBe(404);
    for (const edit of [{ phone: '+447700900001' }, { email: 'admin@example.org' }, { staffId: 'x-1' }])
      expect((await post('admin', `/api/users/${head}`, edit)).statusCode).toBe(404);
    const after = (await userById(db, head))!;
    expect(after.phone).toBe('+447700900099');
    expect(after.email).toBeNull();
    expect(after.staffId).toBeNull();
    expect(after.disabled).toBe(false);
  });

  it('does not list the headteacher; lists and changes accounts without a position they lack', async () => {
    const listed = (
      await app.inject({
        method: 'GET',
        url: '/api/users',
        headers: { cookie: as.get('admin')!.cookie },
      })
    )
      .json()
      .users.map((u: { username: string }) => u.username);
    expect(listed).not.toContain('thames.head');
    expect(listed).not.toContain('thames.dsl2');
    expect(listed).toContain('thames.staff');
    expect((await post('admin', `/api/users/${users.staff!.id}`, { phone: '07700 900123' })).statusCode).toBe(
      200,
    );
    expect((await post('admin', `/api/users/${users.staff!.id}/unlock`)).statusCode).toBe(200);
  });

  it('an admin holding the position manages its holders; not a position they lack', async () => {
    expect((await post('dslAdmin', `/api/users/${users.dsl2!.id}/unlock`)).statusCode).toBe(200);
    expect((await post('dslAdmin', `/api/users/${users.head!.id}/unlock`)).statusCode).toBe(404);
  });

  it('a trust-wide admin and the command line still manage the headteacher', async () => {
    expect((await post('trust', `/api/users/${users.head!.id}/unlock`)).statusCode).toBe(200);
    expect(
      (await post('trust', `/api/users/${users.head!.id}`, { email: 'head@example.org' })).statusCode,
    ).toBe(200);
    await changeAccount(db, users.head!.id, 'password', 'system:cli', NEW_PASSWORD);
    expect((await signIn('thames.head', NEW_PASSWORD)).statusCode).toBe(200);
  });
});
