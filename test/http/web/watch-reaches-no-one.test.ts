import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { pushOptedIn } from '../../../src/checks/push-reach.ts';
import { ladderReachability } from '../../../src/checks/reachability.ts';
import { pushServiceAllowed } from '../../../src/notify/push-services.ts';
import { connectRedis } from '../../../src/queue/redis.ts';
import type { Db } from '../../../src/store/db.ts';
import { openStore } from '../../../src/store/open.ts';
import { savePushSubscription } from '../../../src/store/push-subscriptions.ts';
import { dropRedisPrefix } from '../../helpers/redis.ts';
import { dropSchema, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueName } from '../../helpers/services.ts';
import { addPupils, visitSchoolsConfig } from '../../helpers/visits.ts';
import { addUser, buildWebApp, sessionFor } from '../../helpers/web.ts';

/**
 * The newcomer's weekend, over HTTP: leaving on a Saturday, and running late, at a school whose weekend
 * ladders text the on-call leaders over an SMS channel it does not configure and push to the office's
 * browsers, none of which turned alarms on. `doorstep check` says those ladders reach no person; the
 * phone page was told "the office knows where you are". The answers now say the office's screen alone
 * until a person can be reached (here: an office browser that turns alarms on).
 */
const schema = uniqueName('watchnoone');
const vapid = webpush.generateVAPIDKeys();
const LADDER = '{ levels: [{ afterMinutes: 0, notify: [board, sms:on-call-leaders, push:office-staff] }] }';
const config = visitSchoolsConfig(
  `    outOfHoursPhone: "07700 900123"
    channels:
      push: { publicKey: ${vapid.publicKey}, privateKey: "\${K}", subject: "mailto:it@lime.example" }
    notices:
      concern: [sms:on-call-leaders]
    escalationHours:
      weekend:
        overdue-visit: ${LADDER}
        missed-check-in: ${LADDER}
`,
  { K: vapid.privateKey },
);
const lime = config.schools.find((s) => s.id === 'lime')!;
let db: Db;
let conn: Redis;
let app: FastifyInstance;
let now = new Date('2026-11-28T11:00:00Z');
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

const head = () => ({ cookie: session.cookie, 'x-csrf-token': session.csrf });

/** A visit at Lime Hills left now, back an hour later, checking in: its id and the answer to leaving. */
async function leave(): Promise<{ id: string; left: Record<string, unknown> }> {
  // Asked for on the Friday before (a school day), planned for today.
  const day = now.toISOString().slice(0, 10);
  const leaving = now;
  now = new Date('2026-11-27T10:00:00Z');
  const made = await app.inject({
    method: 'POST',
    url: '/api/visits',
    headers: head(),
    payload: { school: 'lime', pupilMisId: 'P1', reason: 'welfare', plannedFor: '2026-11-27' },
  });
  now = leaving;
  expect(made.statusCode, made.body).toBe(201);
  const id = made.json().id as string;
  await db.query(
    // Told, authorised and approved for the weekend: what Lime Hills asks before leaving.
    `UPDATE visits SET family_notice = jsonb_build_object('method', 'letter', 'at', $2::text, 'by', requested_by),
         status = 'authorised', authorised_by = requested_by, authorised_at = $2::timestamptz, out_of_hours_approved = true,
         planned_for = $3::date
       WHERE id = $1`,
    [id, now.toISOString(), day],
  );
  const left = await app.inject({
    method: 'POST',
    url: `/api/visits/${id}/depart`,
    headers: head(),
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

const read = async (id: string) =>
  (await app.inject({ url: `/api/visits/${id}`, headers: head() })).json().watchOnlyOnBoard as boolean;

describe('a weekend watch whose first level reaches no person', () => {
  it('`doorstep check` says so, and so do leaving, running late and the page: the office’s screen alone, and whom to phone', async () => {
    // The weekend ladder's push group is counted from the store (none opted in), as the data page counts it.
    const optedIn = await pushOptedIn(db, lime);
    expect(optedIn).toEqual(new Map([['office-staff', 0]]));
    expect(ladderReachability(lime, { pushOptedIn: optedIn }).map((p) => p.message)).toEqual(
      expect.arrayContaining([
        'escalationHours.weekend.overdue-visit reaches no person on any level, only the board',
      ]),
    );
    now = new Date('2026-11-28T11:00:00Z');
    const { id, left } = await leave();
    expect(left).toEqual({
      ok: true,
      watchOnlyOnBoard: true,
      office: { phone: '07700 900123', label: 'Call the on-call number' },
    });
    expect(await read(id)).toBe(true);
    now = new Date('2026-11-28T11:50:00Z');
    const late = await app.inject({
      method: 'POST',
      url: `/api/visits/${id}/running-late`,
      headers: head(),
      payload: { expectedReturnAt: '2026-11-28T13:46:00Z', reason: 'the family asked us to wait' },
    });
    expect(late.statusCode, late.body).toBe(200);
    expect(late.json()).toMatchObject({ ok: true, watchOnlyOnBoard: true });
    // A concern the outcome records goes to a group texted over no SMS channel: no one is told, and
    // the page says to phone the DSL now rather than that they have been.
    const page = (await app.inject({ url: `/api/visits/${id}`, headers: head() })).json();
    expect(page.concernsTold).toBe(false);
  });

  it('a browser on a push service the school does not allow is never pushed to: still the screen alone', async () => {
    // Subscribed on a service channels.push.services does not name (the school narrowed the list
    // after it subscribed): the push channel drops it before sending (pushServiceAllowed).
    const office = await addUser(db, 'office-elsewhere', ['office']);
    const endpoint = 'https://push.example/office-1';
    expect(pushServiceAllowed(endpoint, lime.channels.push!.services)).toBe(false);
    await savePushSubscription(db, {
      userId: office.id,
      endpoint,
      p256dh: 'p',
      auth: 'a',
      publicKey: vapid.publicKey,
    });
    expect(await pushOptedIn(db, lime)).toEqual(new Map([['office-staff', 0]]));
    now = new Date('2026-11-29T10:00:00Z');
    const { id, left } = await leave();
    expect(left).toMatchObject({ watchOnlyOnBoard: true });
    expect(await read(id)).toBe(true);
  });

  it('once an office browser turns alarms on, the push reaches a person: the office knows', async () => {
    const office = await addUser(db, 'office', ['office']);
    await savePushSubscription(db, {
      userId: office.id,
      endpoint: 'https://fcm.googleapis.com/fcm/send/office-1',
      p256dh: 'p',
      auth: 'a',
      publicKey: vapid.publicKey,
    });
    expect(await pushOptedIn(db, lime)).toEqual(new Map([['office-staff', 1]]));
    now = new Date('2026-11-29T11:00:00Z');
    const { id, left } = await leave();
    expect(left).toMatchObject({ watchOnlyOnBoard: false });
    expect(await read(id)).toBe(false);
  });
});
