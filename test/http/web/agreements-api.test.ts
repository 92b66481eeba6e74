import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { visitRulesLookup } from '../../../src/config/policy-packs.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import type { User } from '../../../src/store/users.ts';
import type { VisitDeps } from '../../../src/visits/change.ts';
import { agreementsConfig, madeWithAgreements } from '../../helpers/agreements.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addPupils } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/** The routes of Thames View 2.7 (a visit's appointment) and 4.2/4.3 (a broken agreement, the reminder letter). */
const schema = uniqueName('agreeapi');
const config = agreementsConfig();
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let deps: VisitDeps;
let now = new Date('2026-11-23T09:00:00Z');
const as = new Map<string, { cookie: string; csrf: string }>();
const users: Record<string, User> = {};

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  deps = { db, config, rulesFor: visitRulesLookup(config), prefix: schema, now: () => now };
  await addPupils(db, ['thames', 'lime']);
  users.staff = await addUser(db, 'staff', ['visiting-staff'], {
    phone: '+447700900111',
    schools: ['thames'],
  });
  users.partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  users.head = await addUser(db, 'head', ['office'], { positions: ['headteacher'], schools: ['thames'] });
  users.sbm = await addUser(db, 'sbm', ['office'], { positions: ['business-manager'], schools: ['thames'] });
  users.office = await addUser(db, 'office', ['office'], { schools: ['thames'] });
  users.limeOffice = await addUser(db, 'limeoffice', ['office'], { schools: ['lime'] });
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

describe('a visit appointment over HTTP', () => {
  it('takes the time with the request or later, naming a bad field, and writes the record once booked', async () => {
    const bad = await call('staff', 'POST', '/api/visits', {
      school: 'thames',
      pupilMisId: 'P1',
      reason: 'attendance',
      plannedFor: '2026-11-24',
      appointmentTime: '25:00',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^appointmentTime: expected a time as HH:MM/);
    const made = await call('staff', 'POST', '/api/visits', {
      school: 'thames',
      pupilMisId: 'P1',
      reason: 'attendance',
      plannedFor: '2026-11-24',
      appointmentTime: '10:00',
    });
    expect(made.statusCode).toBe(201);
    const id = made.json().id as string;
    // The written confirmation (2.6) names the time of the appointment, not only its day.
    const letter = await call('staff', 'GET', `/visits/${id}/letter`);
    expect(letter.statusCode).toBe(200);
    expect(letter.body).toContain('Tuesday, 24 November 2026 at 10:00</strong>');
    // The head's list: each visit with the version it showed.
    const listed = (await call('head', 'GET', '/api/visits?school=thames&date=2026-11-24')).json().visits as {
      id: string;
      version: string;
    }[];
    const shown = listed.find((v) => v.id === id)!;
    expect(shown.version).toMatch(/^\d+$/);
    // A version the list did not show (the visit changed since it was read) is not signed.
    expect(
      (
        await call('head', 'POST', '/api/visits/sign-list', {
          school: 'thames',
          date: '2026-11-24',
          visits: [{ id, version: '1' }],
        })
      ).json(),
    ).toEqual({
      authorised: [],
      skipped: [{ id, why: 'it changed after your list was read: read the list again and sign it' }],
    });
    expect(
      (
        await call('head', 'POST', '/api/visits/sign-list', {
          school: 'thames',
          date: '2026-11-24',
          visits: [{ id, version: shown.version }],
        })
      ).json(),
    ).toEqual({ authorised: [id], skipped: [] });
    const badTime = await call('staff', 'POST', `/api/visits/${id}/appointment`, { time: '9:5' });
    expect(badTime.statusCode).toBe(400);
    expect(badTime.json().message).toMatch(/^time: expected a time as HH:MM/);
    const badAddress = await call('staff', 'POST', `/api/visits/${id}/appointment`, {
      time: '11:00',
      address: { line1: '2 New Street', postcode: 'not one' },
    });
    expect(badAddress.json().message).toMatch(/^address\.postcode: expected a UK postcode/);
    const moved = await call('staff', 'POST', `/api/visits/${id}/appointment`, {
      time: '11:00',
      address: { line1: '2 New Street', town: 'Leeds', postcode: 'LS6 1AA' },
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toEqual({ ok: true, outboxId: expect.any(String) });
    const { rows } = await db.query<{ idempotency_key: string; body: string }>(
      `SELECT idempotency_key, body FROM outbox WHERE kind = 'visit_appointment' AND source_id = $1 AND sink = 'cpoms' ORDER BY id`,
      [id],
    );
    expect(rows.map((r) => r.idempotency_key)).toEqual([
      `visit-appointment:thames:${id}:1`,
      `visit-appointment:thames:${id}:2`,
    ]);
    expect(rows[1]!.body).toContain('Location: 2 New Street, Leeds, LS6 1AA');
    // Another school's office: the visit is not theirs to know of.
    expect(
      (await call('limeOffice', 'POST', `/api/visits/${id}/appointment`, { time: '12:00' })).statusCode,
    ).toBe(404);
  });
});

describe('a broken agreement over HTTP', () => {
  it('records it, returns the reminder letter to print, and refuses what it must', async () => {
    now = new Date('2026-11-26T09:00:00Z');
    const id = await madeWithAgreements(
      deps,
      { staff: users.staff!, partner: users.partner!, head: users.head!, sbm: users.sbm! },
      '2026-11-26',
    );
    now = new Date('2026-11-27T09:00:00Z');
    const bad = await call('office', 'POST', `/api/visits/${id}/agreement-broken`, {
      agreement: 'first',
      on: '2026-11-27',
      note: 'late',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^agreement: /);
    const outOfRange = await call('office', 'POST', `/api/visits/${id}/agreement-broken`, {
      agreement: 7,
      on: '2026-11-27',
      note: 'late',
    });
    expect(outOfRange.statusCode).toBe(400);
    expect(outOfRange.json().message).toMatch(/^agreement: the visit's outcome has 2 agreement/);
    expect(
      (
        await call('staff', 'POST', `/api/visits/${id}/agreement-broken`, {
          agreement: 0,
          on: '2026-11-27',
          note: 'x',
        })
      ).statusCode,
    ).toBe(403);
    const ok = await call('office', 'POST', `/api/visits/${id}/agreement-broken`, {
      agreement: 0,
      on: '2026-11-27',
      note: 'arrived 9:40 <no reason>',
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({
      ok: true,
      n: 1,
      duplicate: false,
      letterUrl: `/visits/${id}/reminder-letter?n=1`,
    });
    const letter = await call('office', 'GET', ok.json().letterUrl);
    expect(letter.statusCode).toBe(200);
    expect(letter.headers['content-type']).toMatch(/text\/html/);
    expect(letter.body).toContain('A reminder of what we agreed');
    expect(letter.body).toContain('Amelia in school by 8:45 every day');
    expect(letter.body).toContain('Friday, 27 November 2026');
    expect(letter.body).toContain('please ring the school office on <strong>01632 960123</strong>');
    expect((await call('office', 'GET', `/visits/${id}/reminder-letter?n=2`)).statusCode).toBe(404);
    expect((await call('office', 'GET', `/visits/${id}/reminder-letter?n=x`)).statusCode).toBe(404);
    expect((await call('limeOffice', 'GET', ok.json().letterUrl)).statusCode).toBe(404);
    // The family letter still reads as before, from the same rendering.
    const family = await call('office', 'GET', `/visits/${id}/letter`);
    expect(family.body).toContain('A home visit from school');
    expect(family.body).toContain(
      'If this day is not convenient, please ring the school office on <strong>01632 960123</strong> to arrange another time.',
    );
  });
});
