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

/** Hampton's visits on the way to or from work over HTTP: asked for as such, approved by the head of school. */
const schema = uniqueName('commuteapi');
const config = visitSchoolsConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
const now = new Date('2026-11-23T09:00:00Z');
const as = new Map<string, { cookie: string; csrf: string }>();
const users: Record<string, User> = {};

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  await addPupils(db, ['hampton', 'lime']);
  users.staff = await addUser(db, 'staff', ['visiting-staff'], { phone: '+447700900111' });
  users.hos = await addUser(db, 'hos', ['office'], { positions: ['head-of-school'] });
  users.office = await addUser(db, 'office', ['office']);
  users.dsl = await addUser(db, 'dsl', ['safeguarding'], { schools: ['lime'] });
  for (const [name, u] of Object.entries(users)) as.set(name, await sessionFor(db, u));
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const call = (who: string, method: 'GET' | 'POST', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: { cookie: as.get(who)!.cookie, 'x-csrf-token': as.get(who)!.csrf },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

describe('a visit on the way to or from work over HTTP', () => {
  it('is asked for as such (a bad value named), shown as needing approval, and approved by the head of school only', async () => {
    const ask = { school: 'hampton', pupilMisId: 'P1', reason: 'induction', plannedFor: '2026-11-23' };
    const bad = await call('staff', 'POST', '/api/visits', { ...ask, commute: 'sideways' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^commute: expected to-work or from-work/);
    // The office would be asking for a journey nobody leads: refused, naming why.
    const office = await call('office', 'POST', '/api/visits', { ...ask, commute: 'to-work' });
    expect(office.statusCode).toBe(400);
    expect(office.json().message).toMatch(
      /^commute: a visit on the way to or from work is its lead's own journey/,
    );
    const made = await call('staff', 'POST', '/api/visits', { ...ask, commute: 'to-work' });
    expect(made.statusCode).toBe(201);
    const id = made.json().id as string;

    const seen = await call('staff', 'GET', `/api/visits/${id}`);
    expect(seen.json().visit).toMatchObject({ commute: 'to-work', commuteApprovedAt: null });
    expect(seen.json().rules.commute.approvalBy).toEqual(['head-of-school']);
    // Who may name the worker going on an unled visit: the office, never visiting staff (who go themselves).
    expect(seen.json().mayNameLead).toBe(false);
    expect((await call('office', 'GET', `/api/visits/${id}`)).json().mayNameLead).toBe(true);
    expect(seen.json().actions).not.toContain('approve-commute');
    expect(seen.json().findings.map((f: { rule: string }) => f.rule)).toContain('commute-approval');
    expect((await call('hos', 'GET', `/api/visits/${id}`)).json().actions).toContain('approve-commute');

    for (const who of ['staff', 'office'])
      expect((await call(who, 'POST', `/api/visits/${id}/approve-commute`, {})).statusCode).toBe(403);
    const ok = await call('hos', 'POST', `/api/visits/${id}/approve-commute`, { note: 'on her way in' });
    expect(ok.statusCode).toBe(200);
    const after = await call('staff', 'GET', `/api/visits/${id}`);
    expect(after.json().visit.commuteApprovedAt).toBe(now.toISOString());
    expect(after.json().findings.map((f: { rule: string }) => f.rule)).not.toContain('commute-approval');
    expect((await call('hos', 'POST', `/api/visits/${id}/approve-commute`, {})).statusCode).toBe(409);
  });
});

describe('an approval outside the hours over HTTP', () => {
  it('is offered on an authorised visit to its authorisers only, and asks why', async () => {
    const made = await call('dsl', 'POST', '/api/visits', { school: 'lime', pupilMisId: 'P1', reason: 'x' });
    const id = made.json().id as string;
    expect((await call('dsl', 'GET', `/api/visits/${id}`)).json().actions).not.toContain(
      'approve-out-of-hours',
    );
    // Not before the authorisation (that form has its own tick).
    expect(
      (await call('dsl', 'POST', `/api/visits/${id}/approve-out-of-hours`, { reason: 'x' })).statusCode,
    ).toBe(409);
    await db.query(`UPDATE visits SET status = 'authorised', requested_by = $2 WHERE id = $1`, [
      id,
      users.office!.id,
    ]);
    expect((await call('dsl', 'GET', `/api/visits/${id}`)).json().actions).toContain('approve-out-of-hours');
    const noWhy = await call('dsl', 'POST', `/api/visits/${id}/approve-out-of-hours`, { reason: ' ' });
    expect(noWhy.statusCode).toBe(400);
    expect(noWhy.json().message).toMatch(/^reason: /);
    const ok = await call('dsl', 'POST', `/api/visits/${id}/approve-out-of-hours`, { reason: 'after work' });
    expect(ok.statusCode).toBe(200);
    expect((await call('dsl', 'GET', `/api/visits/${id}`)).json().visit.outOfHoursApproved).toBe(true);
  });
});

describe('moving a visit to another day over HTTP', () => {
  it('names a bad date, moves it, and the visit page offers it only before leaving', async () => {
    const made = await call('staff', 'POST', '/api/visits', {
      school: 'hampton',
      pupilMisId: 'P1',
      reason: 'x',
    });
    const id = made.json().id as string;
    expect((await call('staff', 'GET', `/api/visits/${id}`)).json().actions).toContain('change-date');
    const bad = await call('staff', 'POST', `/api/visits/${id}/date`, { date: '24/11/2026' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^date: expected a date as YYYY-MM-DD/);
    const past = await call('staff', 'POST', `/api/visits/${id}/date`, { date: '2026-11-22' });
    expect(past.statusCode).toBe(400);
    expect(past.json().message).toBe('date: expected today (2026-11-23) or later');
    expect((await call('staff', 'POST', `/api/visits/${id}/date`, { date: '2026-11-24' })).statusCode).toBe(
      200,
    );
    const moved = (await call('staff', 'GET', `/api/visits/${id}`)).json();
    expect(moved.visit.plannedFor).toBe('2026-11-24');
    expect(moved.dayPassed).toBe(false);
    // Not today's: leaving is refused for it, saying so.
    expect(moved.findings.map((f: { rule: string }) => f.rule)).toContain('planned-date');
    // A visit waiting for authorisation whose day has passed: the board says so.
    const lime = (
      await call('dsl', 'POST', '/api/visits', { school: 'lime', pupilMisId: 'P1', reason: 'y' })
    ).json().id as string;
    await db.query(`UPDATE visits SET planned_for = '2026-11-22' WHERE id = $1`, [lime]);
    expect((await call('dsl', 'GET', `/api/visits/${lime}`)).json().dayPassed).toBe(true);
    const board = (await call('dsl', 'GET', '/api/board?school=lime')).json();
    expect(
      board.awaitingAuthorisation.visits.map((v: { visitId: string; dayPassed: boolean }) => [
        v.visitId,
        v.dayPassed,
      ]),
    ).toContainEqual([lime, true]);
  });
});
