import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { notAboutThem, phoneOf } from '../../../src/notify/alarm-recipients.ts';
import { groupPhones } from '../../../src/notify/http-channels.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { savePushSubscription } from '../../../src/store/push-subscriptions.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * Found by review: a Saturday at Lime Hills, whose weekend first level texts the on-call leaders (the
 * Head alone, +447700900001) and pushes to the office's browsers (the Head's phone alone turned alarms
 * on). The Head goes on the visit. No alarm message goes to the people the alarm is about
 * (`notAboutThem`): the text and the push both fail for good, no person is told — yet leaving said
 * "the office knows where you are". The people on the visit are now left out of whom a first level
 * reaches, on leaving, on the page and on "I am still out"; a visit someone else goes on is unchanged.
 */
const schema = uniqueName('watchworker');
const vapid = webpush.generateVAPIDKeys();
const LADDER = '{ levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders, push:office-staff] }] }';
const config = visitSchoolsConfig(
  `    outOfHoursPhone: "07700 900123"
    channels:
      sms: { baseUrl: "http://127.0.0.1:9", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
      push: { publicKey: ${vapid.publicKey}, privateKey: "\${K}", subject: "mailto:it@lime.example" }
    escalationHours:
      weekend:
        overdue-visit: ${LADDER}
        missed-check-in: ${LADDER}
`,
  { K: vapid.privateKey, SMS_TOKEN: 'tok' },
);
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let now = new Date('2026-11-28T11:00:00Z');
type Session = { cookie: string; csrf: string };
let headSession: Session;
let staffSession: Session;
let headId = '';

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  conn = await connectRedis({ url: TEST_REDIS_URL }, 'producer');
  app = await buildWebApp(config, db, { prefix: schema, now: () => now, publisher: conn });
  await addPupils(db, ['lime']);
  // The Head: the school's only on-call leader (contacts.on-call-leaders: Head, +447700900001), a
  // safeguarding account, and the only office or safeguarding one that turned alarms on (its phone).
  const head = await addUser(db, 'head', ['visiting-staff', 'safeguarding'], { phone: '+447700900001' });
  headId = head.id;
  await savePushSubscription(db, {
    userId: head.id,
    endpoint: 'https://fcm.googleapis.com/fcm/send/head-phone',
    p256dh: 'p',
    auth: 'a',
    publicKey: vapid.publicKey,
  });
  headSession = await sessionFor(db, head);
  staffSession = await sessionFor(
    db,
    await addUser(db, 'staff', ['visiting-staff'], { phone: '+447700900111' }),
  );
});
afterAll(async () => {
  await app.close();
  await dropRedisPrefix(conn, schema);
  conn.disconnect();
  await db.close();
  await dropSchema(schema);
});

const as = (s: Session) => ({ cookie: s.cookie, 'x-csrf-token': s.csrf });

/** A visit at Lime Hills led by `who`, left now, back an hour later, checking in. */
async function leave(who: Session): Promise<{ id: string; left: Record<string, unknown> }> {
  const day = now.toISOString().slice(0, 10);
  const leaving = now;
  now = new Date('2026-11-27T10:00:00Z');
  const made = await app.inject({
    method: 'POST',
    url: '/api/visits',
    headers: as(who),
    payload: { school: 'lime', pupilMisId: 'P1', reason: 'welfare', plannedFor: '2026-11-27' },
  });
  now = leaving;
  expect(made.statusCode, made.body).toBe(201);
  const id = made.json().id as string;
  await db.query(
    `UPDATE visits SET family_notice = jsonb_build_object('method', 'letter', 'at', $2::text, 'by', requested_by),
         status = 'authorised', authorised_by = requested_by, authorised_at = $2::timestamptz, out_of_hours_approved = true,
         planned_for = $3::date
       WHERE id = $1`,
    [id, now.toISOString(), day],
  );
  const left = await app.inject({
    method: 'POST',
    url: `/api/visits/${id}/depart`,
    headers: as(who),
    payload: {
      expectedReturnAt: new Date(now.getTime() + 60 * 60_000).toISOString(),
      checkInMinutes: 30,
      risksRead: true,
      identification: true,
      safeWord: 'bluebell',
    },
  });
  expect(left.statusCode, left.body).toBe(200);
  return { id, left: left.json() };
}

const read = async (who: Session, id: string) =>
  (await app.inject({ url: `/api/visits/${id}`, headers: as(who) })).json().watchOnlyOnBoard as boolean;

describe('the only person a first level reaches is the worker out', () => {
  it('the channels tell no one of it: the text and the push to the Head both fail for good', async () => {
    const n = { notice: false, deviceId: null, alarmType: 'overdue_visit', target: 'sms:on-call-leaders' };
    const about = async () => ({ userIds: [headId], phones: ['+447700900001'] });
    await expect(
      notAboutThem('sms', n as never, 'on-call-leaders', groupPhones(['+447700900001']), phoneOf, about),
    ).rejects.toThrow(/everyone in contacts group "on-call-leaders" is someone the alarm is about/);
    await expect(
      notAboutThem(
        'push',
        n as never,
        'office-staff',
        [{ userId: headId }],
        (s, a) => a.userIds.has(s.userId),
        about,
      ),
    ).rejects.toThrow(/someone the alarm is about/);
  });

  it('the Head leaving is told the office’s screen alone and whom to phone, on leaving and on the page', async () => {
    now = new Date('2026-11-28T11:00:00Z');
    const { id, left } = await leave(headSession);
    expect(left).toEqual({
      ok: true,
      watchOnlyOnBoard: true,
      office: { phone: '07700 900123', label: 'Call the on-call number' },
    });
    expect(await read(headSession, id)).toBe(true);
    // Back safe said by mistake, and "I am still out" past their own bound (4 hours since leaving):
    // the overdue alarm is raised at once, and its first level reaches no one but the Head.
    now = new Date('2026-11-28T14:55:00Z');
    const back = await app.inject({
      method: 'POST',
      url: `/api/visits/${id}/back-safe`,
      headers: as(headSession),
      payload: {},
    });
    expect(back.statusCode, back.body).toBe(200);
    now = new Date('2026-11-28T15:00:05Z');
    const still = await app.inject({
      method: 'POST',
      url: `/api/visits/${id}/resume-watch`,
      headers: as(headSession),
      payload: {},
    });
    expect(still.statusCode, still.body).toBe(200);
    expect(still.json()).toMatchObject({ overdueNow: true, onlyOnBoard: true });
  });

  it('someone else going: the text and the push reach the Head, and the office knows', async () => {
    now = new Date('2026-11-29T11:00:00Z');
    const { id, left } = await leave(staffSession);
    expect(left).toMatchObject({ watchOnlyOnBoard: false });
    expect(await read(staffSession, id)).toBe(false);
  });
});
