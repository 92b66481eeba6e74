import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * Found by review: an admin was checked for the roles and schools they gave, never the positions.
 * Positions carry authority of their own (Thames View's day list is signed by its headteacher only),
 * so a Thames View admin who is not its headteacher made a headteacher account, signed in as it and
 * signed the day's list alone. A school's admin now gives only positions they hold; a trust-wide
 * admin any.
 */
const schema = uniqueName('grantpos');
const config = visitSchoolsConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const now = new Date('2026-11-23T09:00:00Z');
const users: Record<string, User> = {};
const as = new Map<string, { cookie: string; csrf: string }>();

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  await addPupils(db, ['thames']);
  users.admin = await addUser(db, 'thames.admin', ['admin'], { schools: ['thames'] });
  as.set('admin', await sessionFor(db, users.admin));
  users.dslAdmin = await addUser(db, 'thames.dsl', ['admin'], { schools: ['thames'], positions: ['dsl'] });
  as.set('dslAdmin', await sessionFor(db, users.dslAdmin));
  users.trust = await addUser(db, 'trust.admin', ['admin'], { schools: [] });
  as.set('trust', await sessionFor(db, users.trust));
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const call = (s: { cookie: string; csrf: string }, method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({
    method,
    url,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    ...(payload ? { payload } : {}),
  });

describe('an admin gives no position they do not hold', () => {
  const account = (username: string, positions: string[]) => ({
    username,
    displayName: username,
    password: 'a long enough password',
    roles: ['visiting-staff'],
    positions,
    schools: ['thames'],
  });

  it("a school's admin: only their own positions; a trust-wide admin: any", async () => {
    const fake = await call(as.get('admin')!, 'POST', '/api/users', account('fake.head', ['headteacher']));
    expect(fake.statusCode).toBe(403);
    expect(fake.json().message).toBe(
      'positions: only a trust-wide admin gives a position you do not hold (headteacher): it authorises visits',
    );
    const login = await app.inject({
      method: 'POST',
      url: '/api/login',
      payload: { username: 'fake.head', password: 'a long enough password' },
    });
    expect(login.statusCode).toBe(401);
    expect(
      (await call(as.get('dslAdmin')!, 'POST', '/api/users', account('deputy', ['dsl']))).statusCode,
    ).toBe(201);
    expect(
      (await call(as.get('dslAdmin')!, 'POST', '/api/users', account('head2', ['dsl', 'headteacher'])))
        .statusCode,
    ).toBe(403);
    expect(
      (await call(as.get('trust')!, 'POST', '/api/users', account('real.head', ['headteacher']))).statusCode,
    ).toBe(201);
  });
});
