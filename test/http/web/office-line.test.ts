import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { officeLine, watchOnlyOnBoard } from '../../../src/domain/visits/office-line.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

describe('who a worker out can phone', () => {
  const school = { phone: '01632 960123', outOfHoursPhone: '07700 900123' };
  it('in school hours, or with no hours known, the office', () => {
    for (const period of ['school-hours', null] as const)
      expect(officeLine(school, period)).toEqual({ phone: '01632 960123', label: 'Call the office' });
  });
  it('outside them, the on-call number — or the office said to be possibly closed', () => {
    for (const period of ['out-of-hours', 'weekend', 'holiday'] as const) {
      expect(officeLine(school, period)).toEqual({ phone: '07700 900123', label: 'Call the on-call number' });
      expect(officeLine({ phone: '01632 960123' }, period)).toEqual({
        phone: '01632 960123',
        label: 'Call the office (may be closed now)',
      });
      expect(officeLine({}, period)).toBeNull();
    }
  });
});

/** The phone page's call button, by the school's hours (`escalationHours`), over HTTP. */
const schema = uniqueName('officeline');
const config = visitSchoolsConfig(`    outOfHoursPhone: "07700 900123"
    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours: { alarm: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] } }
`);
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let now = new Date('2026-11-23T10:00:00Z');
let session: { cookie: string; csrf: string };

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  await addPupils(db, ['lime']);
  session = await sessionFor(db, await addUser(db, 'staff', ['visiting-staff'], { phone: '+447700900111' }));
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

describe('the visit as the phone page reads it', () => {
  it('offers the office in school hours and the on-call number after them (Monday 18:00, Saturday)', async () => {
    const headers = { cookie: session.cookie, 'x-csrf-token': session.csrf };
    const made = await app.inject({
      method: 'POST',
      url: '/api/visits',
      headers,
      payload: { school: 'lime', pupilMisId: 'P1', reason: 'welfare', plannedFor: '2026-11-23' },
    });
    expect(made.statusCode).toBe(201);
    const office = async () =>
      (await app.inject({ url: `/api/visits/${made.json().id}`, headers })).json().office;
    expect(await office()).toEqual({ phone: '01632 960123', label: 'Call the office' });
    now = new Date('2026-11-23T18:00:00Z');
    expect(await office()).toEqual({ phone: '07700 900123', label: 'Call the on-call number' });
    now = new Date('2026-11-28T11:00:00Z');
    expect(await office()).toEqual({ phone: '07700 900123', label: 'Call the on-call number' });
  });
});

describe('who watches a worker out, as the phone page is told', () => {
  const boardFirst = {
    levels: [{ notify: ['board', 'sms:visiting-staff'] }, { notify: ['sms:on-call-leaders'] }],
  };
  const personFirst = { levels: [{ notify: ['board', 'sms:on-call-leaders'] }] };
  it('out of hours, a watch ladder that tells only the board at once is the office’s screen alone', () => {
    for (const period of ['out-of-hours', 'weekend', 'holiday'] as const) {
      expect(watchOnlyOnBoard(period, [personFirst, boardFirst])).toBe(true);
      expect(watchOnlyOnBoard(period, [personFirst])).toBe(false);
    }
    // In school hours (or with no hours known) the office is at its screen.
    for (const period of ['school-hours', null] as const)
      expect(watchOnlyOnBoard(period, [boardFirst])).toBe(false);
  });

  it('leaving at 23:43 on a Friday is told the watch is the office’s screen alone, and whom to phone; at 10:00 on a Monday, not', async () => {
    const headers = { cookie: session.cookie, 'x-csrf-token': session.csrf };
    const leave = async (at: string) => {
      now = new Date(at);
      const made = await app.inject({
        method: 'POST',
        url: '/api/visits',
        headers,
        payload: { school: 'lime', pupilMisId: 'P1', reason: 'welfare', plannedFor: at.slice(0, 10) },
      });
      expect(made.statusCode).toBe(201);
      const id = made.json().id as string;
      await db.query(
        // Told, authorised and approved for the evening: what Lime Hills asks before leaving.
        `UPDATE visits SET family_notice = jsonb_build_object('method', 'letter', 'at', $2::text, 'by', requested_by),
           status = 'authorised', authorised_by = requested_by, authorised_at = $2::timestamptz, out_of_hours_approved = true
         WHERE id = $1`,
        [id, now.toISOString()],
      );
      const before = (await app.inject({ url: `/api/visits/${id}`, headers })).json();
      const left = await app.inject({
        method: 'POST',
        url: `/api/visits/${id}/depart`,
        headers,
        payload: {
          expectedReturnAt: new Date(now.getTime() + 15 * 60_000).toISOString(),
          checkInMinutes: 5,
          risksRead: true,
          identification: true,
          safeWord: 'bluebell',
        },
      });
      expect(left.statusCode, left.body).toBe(200);
      const out = (await app.inject({ url: `/api/visits/${id}`, headers })).json();
      return { before: before.watchOnlyOnBoard, left: left.json(), out: out.watchOnlyOnBoard };
    };
    const night = await leave('2026-12-04T23:43:00Z');
    expect(night).toEqual({
      before: true,
      left: {
        ok: true,
        watchOnlyOnBoard: true,
        office: { phone: '07700 900123', label: 'Call the on-call number' },
      },
      out: true,
    });
    const day = await leave('2026-12-07T10:00:00Z');
    expect(day).toEqual({
      before: false,
      left: {
        ok: true,
        watchOnlyOnBoard: false,
        office: { phone: '01632 960123', label: 'Call the office' },
      },
      out: false,
    });
  });
});
