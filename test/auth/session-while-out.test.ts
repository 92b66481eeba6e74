import type { FastifyInstance } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { changeAccount } from '../../src/auth/accounts.ts';
import { HELP_AFTER_BACK_MINUTES, RESUME_WATCH_MINUTES } from '../../src/domain/visits/lifecycle.ts';
import type { Db } from '../../src/store/db.ts';
import { KINDS } from '../../src/store/retention.ts';
import { createSession, hashToken, sessionUser } from '../../src/store/users.ts';
import type { VisitDeps } from '../../src/visits/change.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { visitWorld } from '../helpers/visit-world.ts';
import { departTold } from '../helpers/visits.ts';
import { addUser } from '../helpers/web.ts';

/**
 * Found by review: a session's expiry was fixed at sign-in (`http.sessionHours`) and nothing renewed
 * it, so a worker who signed in in the morning and was out on an evening visit when it ran out lost,
 * mid-visit, "I need help", "Check in", "Running late" and "Back safe" on the phone page (401). A
 * session of a person out on a visit (the lead or the partner, departed and not back safe) does not
 * run out while they are out, nor for HELP_AFTER_BACK_MINUTES after back safe ("I need help" stays
 * open that long, perhaps after someone else said them back); after that the expiry applies again.
 * Only a session still live when the visit left is held: one already run out stays run out. Sign-out,
 * a disabled account and a new password still end it at once.
 */
const w = visitWorld('sess_out', () => now);
let db: Db;
let app: FastifyInstance;
let vdeps: VisitDeps;
// Monday 23 Nov 2026, 07:30 London (GMT): the worker signs in on their phone.
let now = new Date('2026-11-23T07:30:00Z');
const HOUR = 3_600_000;

beforeAll(async () => {
  ({ db, app, vdeps } = w);
});

/** A worker and their partner, the worker signed in at `now` for 12 hours, out on a visit from 17:30 to 21:00. */
async function outInTheEvening(name: string) {
  now = new Date('2026-11-23T07:30:00Z');
  const lead = await addUser(db, `${name}-lead`, ['visiting-staff'], { phone: '+447700900111' });
  const partner = await addUser(db, `${name}-partner`, ['visiting-staff'], { phone: '+447700900222' });
  const s = await createSession(db, lead.id, 12 * HOUR, now);
  const p = await createSession(db, partner.id, 12 * HOUR, now);
  now = new Date('2026-11-23T17:30:00Z');
  const id = await requestVisit(vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(vdeps, lead, id, {
    expectedReturnAt: new Date('2026-11-23T21:00:00Z'),
    partnerUserId: partner.id,
    risksRead: true,
  });
  const headers = { cookie: `doorstep_session=${s.token}`, 'x-csrf-token': s.csrfToken };
  const post = (url: string, payload: object) => app.inject({ method: 'POST', url, headers, payload });
  return { lead, partner, s, p, id, post, headers };
}

const purgeExpired = () => db.transaction((tx) => KINDS['expired-sessions']!(tx, 'hampton', now, 100));

describe('a session whose expiry passes while its person is out on a visit', () => {
  it('keeps the phone page working until they are back safe; then the expiry applies again', async () => {
    const { s, p, id, post, headers } = await outInTheEvening('eve');
    const office = await addUser(db, 'eve-office', ['office']);
    // 19:31: past the 12 hours (19:30), still out.
    now = new Date('2026-11-23T19:31:00Z');
    expect((await post(`/api/visits/${id}/check-in`, {})).statusCode).toBe(200);
    const late = await post(`/api/visits/${id}/running-late`, {
      expectedReturnAt: '2026-11-23T21:30:00Z',
      reason: 'parent late',
    });
    expect(late.statusCode, late.body).toBe(200);
    const help = await post(`/api/visits/${id}/help`, { pressId: 'abcdefgh12345678' });
    expect(help.statusCode, help.body).toBe(200);
    const page = await app.inject({ method: 'GET', url: `/api/visits/${id}`, headers });
    expect(page.statusCode).toBe(200);
    // The browser is told to keep the cookie (the server no longer ends it at 19:30).
    const cookie = page.cookies.find((c) => c.name === 'doorstep_session');
    expect(cookie?.value).toBe(s.token);
    expect(cookie?.expires?.getTime()).toBeGreaterThan(now.getTime());
    // The partner's too; and the purge of expired sessions leaves both.
    expect(await sessionUser(db, p.token, now)).toBeTruthy();
    await purgeExpired();
    expect(await sessionUser(db, s.token, now)).toMatchObject({ heldWhileOut: true });
    expect(await sessionUser(db, p.token, now)).toMatchObject({ heldWhileOut: true });

    // 21:40: the office records them back safe. "I need help" stays open for HELP_AFTER_BACK_MINUTES
    // after back safe (the lead may still be at the door): so does the phone page it is on.
    now = new Date('2026-11-23T21:40:00Z');
    await returnVisit(vdeps, office, id);
    now = new Date('2026-11-23T21:50:00Z');
    const just = await app.inject({ method: 'GET', url: `/api/visits/${id}`, headers });
    expect(just.statusCode).toBe(200);
    expect(just.json().actions).toContain('help');
    const helpAfter = await post(`/api/visits/${id}/help`, { pressId: 'ijklmnop12345678' });
    expect(helpAfter.statusCode, helpAfter.body).toBe(200);
    expect(await sessionUser(db, p.token, now)).toMatchObject({ heldWhileOut: true });
    await purgeExpired();
    expect(await sessionUser(db, s.token, now)).toBeTruthy();

    // Said back safe by the office, not by them: past HELP_AFTER_BACK_MINUTES the page still works,
    // offering "I am still out" (the text they were sent asks them to press it) and "I need help".
    now = new Date(
      new Date('2026-11-23T21:40:00Z').getTime() + HELP_AFTER_BACK_MINUTES * 60_000 + 15 * 60_000,
    );
    const stillThere = await app.inject({ method: 'GET', url: `/api/visits/${id}`, headers });
    expect(stillThere.statusCode).toBe(200);
    expect(stillThere.json().actions).toContain('resume-watch');
    const helpLater = await post(`/api/visits/${id}/help`, { pressId: 'qrstuvwx12345678' });
    expect(helpLater.statusCode, helpLater.body).toBe(200);

    // RESUME_WATCH_MINUTES after the office's back safe: the expiry, long past, applies at the next request.
    now = new Date(new Date('2026-11-23T21:40:00Z').getTime() + RESUME_WATCH_MINUTES * 60_000);
    const after = await app.inject({ method: 'GET', url: `/api/visits/${id}`, headers });
    expect(after.statusCode).toBe(401);
    expect(await sessionUser(db, p.token, now)).toBeUndefined();
    await purgeExpired();
    const { rows } = await db.query('SELECT 1 FROM sessions WHERE token_hash = ANY($1)', [
      [hashToken(s.token), hashToken(p.token)],
    ]);
    expect(rows, 'the purge left sessions that have run out').toEqual([]);
  });

  it('back safe said by the worker themselves holds their session for HELP_AFTER_BACK_MINUTES only', async () => {
    const { s, id, post, headers } = await outInTheEvening('self');
    now = new Date('2026-11-23T21:40:00Z');
    expect((await post(`/api/visits/${id}/back-safe`, {})).statusCode).toBe(200);
    now = new Date(new Date('2026-11-23T21:40:00Z').getTime() + HELP_AFTER_BACK_MINUTES * 60_000 - 60_000);
    expect((await app.inject({ method: 'GET', url: `/api/visits/${id}`, headers })).statusCode).toBe(200);
    now = new Date(new Date('2026-11-23T21:40:00Z').getTime() + HELP_AFTER_BACK_MINUTES * 60_000);
    expect((await app.inject({ method: 'GET', url: `/api/visits/${id}`, headers })).statusCode).toBe(401);
    expect(await sessionUser(db, s.token, now)).toBeUndefined();
  });

  it('a session that had already run out when its person left is not brought back by the visit', async () => {
    now = new Date('2026-11-23T07:30:00Z');
    const lead = await addUser(db, 'stale-lead', ['visiting-staff'], { phone: '+447700900111' });
    const partner = await addUser(db, 'stale-partner', ['visiting-staff'], { phone: '+447700900222' });
    // Signed in on a shared staff-room computer for 2 hours: ran out at 09:30, not yet purged.
    const old = await createSession(db, lead.id, 2 * HOUR, now);
    // And on their phone at 17:00, for 12 hours.
    const phone = await createSession(db, lead.id, 12 * HOUR, new Date('2026-11-23T17:00:00Z'));
    now = new Date('2026-11-23T17:30:00Z');
    expect(await sessionUser(db, old.token, now)).toBeUndefined();
    const id = await requestVisit(vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
    await departTold(vdeps, lead, id, {
      expectedReturnAt: new Date('2026-11-23T21:00:00Z'),
      partnerUserId: partner.id,
      risksRead: true,
    });
    now = new Date('2026-11-23T17:35:00Z');
    expect(await sessionUser(db, old.token, now), 'a session that had ended is valid again').toBeUndefined();
    const r = await app.inject({
      method: 'GET',
      url: `/api/visits/${id}`,
      headers: { cookie: `doorstep_session=${old.token}` },
    });
    expect(r.statusCode).toBe(401);
    expect(r.cookies.find((c) => c.name === 'doorstep_session' && c.value === old.token)).toBeUndefined();
    await purgeExpired();
    const { rows } = await db.query('SELECT 1 FROM sessions WHERE token_hash = $1', [hashToken(old.token)]);
    expect(rows, 'the purge keeps a session the visit does not hold').toEqual([]);
    // The phone's session, live when they left, is held past its end (05:00) while they are out.
    now = new Date('2026-11-24T05:30:00Z');
    expect(await sessionUser(db, phone.token, now)).toMatchObject({ heldWhileOut: true });
  });

  it('a session not yet past its expiry is left as it was: the cookie is not set again, its end stands', async () => {
    now = new Date('2026-11-23T07:30:00Z');
    const office = await addUser(db, 'office', ['office']);
    const s = await createSession(db, office.id, HOUR, now);
    const headers = { cookie: `doorstep_session=${s.token}` };
    const me = await app.inject({ method: 'GET', url: '/api/me', headers });
    expect(me.statusCode).toBe(200);
    expect(me.cookies.find((c) => c.name === 'doorstep_session')).toBeUndefined();
    now = new Date(now.getTime() + HOUR);
    expect((await app.inject({ method: 'GET', url: '/api/me', headers })).statusCode).toBe(401);
  });

  it('is still ended by signing out, a disabled account or a new password', async () => {
    const { lead, partner, s, p } = await outInTheEvening('ends');
    now = new Date('2026-11-23T19:31:00Z');
    // Signed out of the phone page: that session is gone.
    const out = await app.inject({
      method: 'POST',
      url: '/api/logout',
      headers: { cookie: `doorstep_session=${s.token}`, 'x-csrf-token': s.csrfToken },
      payload: {},
    });
    expect(out.statusCode).toBe(200);
    expect(await sessionUser(db, s.token, now)).toBeUndefined();
    // A new password (asked for anyway: a phone lost) ends the partner's.
    await changeAccount(db, partner.id, 'password', 'system:cli', 'a long enough passphrase', {
      whileOut: true,
    });
    expect(await sessionUser(db, p.token, now)).toBeUndefined();
    // A disabled account: any session it has ends.
    const again = await createSession(db, lead.id, 12 * HOUR, new Date('2026-11-23T07:00:00Z'));
    expect(await sessionUser(db, again.token, now)).toBeTruthy();
    await changeAccount(db, lead.id, 'disable', 'system:cli', undefined, { whileOut: true });
    expect(await sessionUser(db, again.token, now)).toBeUndefined();
  });
});
