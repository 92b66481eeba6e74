import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { officeLine, periodTurns, watchOnlyOnBoard } from '../../../src/domain/visits/office-line.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { watchNow } from '../../../src/visits/watch-reach.ts';
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

/** An SMS channel (nothing is sent): a text to a group with phones then reaches a person. */
const SMS = `    channels:
      sms: { baseUrl: "http://127.0.0.1:9", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
`;

describe('who watches a worker out, as the phone page is told', () => {
  const boardFirst = {
    levels: [{ notify: ['board', 'sms:visiting-staff'] }, { notify: ['sms:on-call-leaders'] }],
  };
  const personFirst = { levels: [{ notify: ['board', 'sms:on-call-leaders'] }] };
  // Every target reaches someone (the school's config judged apart: test/visits/watch-reaches-no-one.test.ts).
  const anyone = () => true;
  it('out of hours, a watch ladder that tells only the board at once is the office’s screen alone', () => {
    for (const period of ['out-of-hours', 'weekend', 'holiday'] as const) {
      expect(watchOnlyOnBoard(period, [personFirst, boardFirst], anyone)).toBe(true);
      expect(watchOnlyOnBoard(period, [personFirst], anyone)).toBe(false);
    }
    // In school hours the office is at its screen.
    expect(watchOnlyOnBoard('school-hours', [boardFirst], anyone)).toBe(false);
    // With no hours known, the board may be unwatched at night: judged by the ladder, as "I am still out" is.
    expect(watchOnlyOnBoard(null, [boardFirst], anyone)).toBe(true);
    expect(watchOnlyOnBoard(null, [personFirst], anyone)).toBe(false);
  });

  it('a period turns only on a whole minute: each one the window passes through is named once', () => {
    const hour = (at: Date) => at.getUTCHours();
    expect(
      periodTurns(new Date('2026-11-23T16:45:30Z'), new Date('2026-11-23T18:10:00Z'), hour).map((d) =>
        d.toISOString(),
      ),
    ).toEqual(['2026-11-23T16:45:30.000Z', '2026-11-23T17:00:00.000Z', '2026-11-23T18:00:00.000Z']);
    expect(
      periodTurns(new Date('2026-11-23T16:45:00Z'), new Date('2026-11-23T16:45:00Z'), hour),
    ).toHaveLength(1);
  });

  /** Lime Hills as the API's tests have it: school day 08:00-17:00; out of hours, Doorstep's own watch ladders. */
  const lime = config.schools.find((s) => s.id === 'lime')!;
  const watch = (overdueAt: string | null, checkIns: boolean, fobSilent = false) => ({
    overdueAt: overdueAt ? new Date(overdueAt) : null,
    checkIns,
    fobSilent,
  });
  it('is decided for the whole watch, not the moment of leaving: overdue at 17:30 is out of hours', () => {
    // Monday 16:45, back by 17:30: the overdue alarm at 17:30 follows the out-of-hours ladder, [board].
    const at = new Date('2026-11-23T16:45:00Z');
    expect(watchNow(lime, at, watch('2026-11-23T17:30:00Z', false)).watchOnlyOnBoard).toBe(true);
    expect(watchNow(lime, at, watch('2026-11-23T17:30:00Z', true)).watchOnlyOnBoard).toBe(true);
    // The call button is still the office's: it is school hours now.
    expect(watchNow(lime, at, watch('2026-11-23T17:30:00Z', true)).office).toEqual({
      phone: '01632 960123',
      label: 'Call the office',
    });
    // 10:00, back by 11:00 on a school day: every alarm would be raised in school hours.
    expect(
      watchNow(lime, new Date('2026-11-23T10:00:00Z'), watch('2026-11-23T11:00:00Z', true, true))
        .watchOnlyOnBoard,
    ).toBe(false);
  });

  it('counts the silent fob where the visit has one and the school watches for it', () => {
    // Out of hours the overdue and missed check-in ladders text the on-call leaders at once; the
    // silent fob's is Doorstep's own, [board, the worker].
    const personFirstOutOfHours = visitSchoolsConfig(
      `${SMS}    escalationHours:
      schoolDay: "08:00-17:00"
      outOfHours:
        overdue-visit: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] }
        missed-check-in: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] }
`,
      { SMS_TOKEN: 'tok' },
    ).schools.find((s) => s.id === 'lime')!;
    const watched = {
      ...personFirstOutOfHours,
      fobs: { ...personFirstOutOfHours.fobs, silentAlarmMinutes: 30 },
    };
    const at = new Date('2026-11-23T18:00:00Z');
    expect(watchNow(watched, at, watch('2026-11-23T19:00:00Z', true, true)).watchOnlyOnBoard).toBe(true);
    expect(watchNow(watched, at, watch('2026-11-23T19:00:00Z', true, false)).watchOnlyOnBoard).toBe(false);
    // In school hours the office sees it.
    expect(
      watchNow(watched, new Date('2026-11-23T10:00:00Z'), watch('2026-11-23T11:00:00Z', true, true))
        .watchOnlyOnBoard,
    ).toBe(false);
  });

  it('a school that gives no hours: its ladders decide, at 23:00 on a Saturday as at any time', () => {
    const noHours = visitSchoolsConfig().schools.find((s) => s.id === 'lime')!;
    // Doorstep's own overdue ladder tells the board alone at first.
    const at = new Date('2026-11-28T23:00:00Z');
    expect(watchNow(noHours, at, watch('2026-11-28T23:45:00Z', false)).watchOnlyOnBoard).toBe(true);
    const texted = visitSchoolsConfig(
      `${SMS}    escalation:
      overdue-visit: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] }
      missed-check-in: { levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders] }] }
`,
      { SMS_TOKEN: 'tok' },
    ).schools.find((s) => s.id === 'lime')!;
    expect(watchNow(texted, at, watch('2026-11-28T23:45:00Z', true)).watchOnlyOnBoard).toBe(false);
  });

  const head = () => ({ cookie: session.cookie, 'x-csrf-token': session.csrf });
  /** A visit at Lime Hills left at `at`, back `backMinutes` later: what the page is told before, on leaving and once out. */
  const leave = async (at: string, backMinutes = 15) => {
    const headers = head();
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
        expectedReturnAt: new Date(now.getTime() + backMinutes * 60_000).toISOString(),
        checkInMinutes: 5,
        risksRead: true,
        identification: true,
        safeWord: 'bluebell',
      },
    });
    expect(left.statusCode, left.body).toBe(200);
    const out = (await app.inject({ url: `/api/visits/${id}`, headers })).json();
    return { id, before: before.watchOnlyOnBoard, left: left.json(), out: out.watchOnlyOnBoard };
  };

  it('leaving at 23:43 on a Friday is told the watch is the office’s screen alone, and whom to phone; at 10:00 on a Monday, not', async () => {
    const { id: _night, ...night } = await leave('2026-12-04T23:43:00Z');
    expect(night).toEqual({
      before: true,
      left: {
        ok: true,
        watchOnlyOnBoard: true,
        office: { phone: '07700 900123', label: 'Call the on-call number' },
      },
      out: true,
    });
    const { id: _day, ...day } = await leave('2026-12-07T10:00:00Z');
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

  it('leaving at 16:45 on a Monday, back by 17:30, is told so: overdue at 17:30 is out of hours; so is running late to 18:00 at 16:30', async () => {
    const late = await leave('2026-11-23T16:45:00Z', 45);
    expect(late).toMatchObject({
      before: false,
      left: {
        ok: true,
        watchOnlyOnBoard: true,
        // Whom to phone now: the office, in school hours still.
        office: { phone: '01632 960123', label: 'Call the office' },
      },
      out: true,
    });
    // Out at 14:30, back by 16:30: watched in school hours; running late at 16:30 to 18:00 is not.
    const day = await leave('2026-11-23T14:30:00Z', 120);
    expect(day).toMatchObject({ before: false, left: { watchOnlyOnBoard: false }, out: false });
    now = new Date('2026-11-23T16:30:00Z');
    const later = await app.inject({
      method: 'POST',
      url: `/api/visits/${day.id}/running-late`,
      headers: head(),
      payload: { expectedReturnAt: '2026-11-23T18:00:00Z', reason: 'the family asked us to wait' },
    });
    expect(later.statusCode, later.body).toBe(200);
    expect(later.json()).toMatchObject({ watchOnlyOnBoard: true });
    expect(
      (await app.inject({ url: `/api/visits/${day.id}`, headers: head() })).json().watchOnlyOnBoard,
    ).toBe(true);
  });
});
