import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { visitWorld } from '../helpers/visit-world.ts';
import { departTold } from '../helpers/visits.ts';
import { addUser, sessionFor } from '../helpers/web.ts';

/**
 * Found by review: the phone page decided by the phone's own clock whether "I am still out" asks a
 * return time (`lateSelfUntil` come), where the server decides it by its own (ownReturnTimeClosed).
 * A phone a few minutes ahead of the server, just before the worker's own bound, asked no time and
 * told them an alarm would be raised; the server refused the press for want of a time, and the page
 * had no field to give one. A phone behind it asked for a time and refused every time past the bound,
 * where the server would have raised the overdue alarm at once. Now the server says (`lateSelfClosed`).
 */
let now = new Date('2026-11-23T10:00:00Z');
const w = visitWorld('still_out_asks_time', () => now);
let db: Db;
let lead: User;
let partner: User;
let office: User;
const at = (hhmm: string) => new Date(`2026-11-23T${hhmm}:00Z`);

const words = (await import(new URL('../../web/assets/visit-words.js', import.meta.url).href)) as {
  stillOutClosed: (d: { lateSelfClosed?: boolean }, self: boolean) => boolean;
};

beforeAll(async () => {
  db = w.db;
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111', displayName: 'Sam Lead' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office'], { displayName: 'Olive Office' });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Out at 10:00 (no one has confirmed them since: their own bound is 14:00), said back safe at 10:30 by the office. */
async function backSafeByOffice(): Promise<string> {
  now = at('10:00');
  const id = await requestVisit(w.vdeps, lead, { schoolId: 'hampton', pupilMisId: 'P1', reason: 'welfare' });
  await departTold(w.vdeps, lead, id, {
    expectedReturnAt: at('13:00'),
    partnerUserId: partner.id,
    risksRead: true,
  });
  now = at('10:30');
  await returnVisit(w.vdeps, office, id);
  return id;
}

/** The phone page's data, read at the server's `now`. */
async function page(who: User, id: string) {
  const s = await sessionFor(db, who);
  const r = await w.app.inject({ method: 'GET', url: `/api/visits/${id}`, headers: { cookie: s.cookie } });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as { lateSelfUntil: string | null; lateSelfClosed?: boolean };
}

/** "I am still out" as the page posts it: a time only when it asks one. */
async function pressStillOut(id: string, body: Record<string, string>) {
  const s = await sessionFor(db, lead);
  return w.app.inject({
    method: 'POST',
    url: `/api/visits/${id}/resume-watch`,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    payload: body,
  });
}

describe('"I am still out" asks a return time exactly when the server needs one', () => {
  it('a phone ahead of the server just before the bound: the page asks a time, as the server needs', async () => {
    const id = await backSafeByOffice();
    now = at('13:58');
    const d = await page(lead, id);
    expect(d).toMatchObject({ lateSelfUntil: at('14:00').toISOString(), lateSelfClosed: false });
    // The phone's clock reads 14:03: the page still asks a time.
    vi.useFakeTimers({ toFake: ['Date'], now: at('14:03') });
    expect(words.stillOutClosed(d, true)).toBe(false);
    vi.useRealTimers();
    // Without one the server refuses (what the page did before); with one it takes it.
    expect((await pressStillOut(id, {})).statusCode).toBe(400);
    const r = await pressStillOut(id, { expectedReturnAt: at('13:59').toISOString() });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ overdueNow: false });
    await returnVisit(w.vdeps, lead, id);
  });

  it('a phone behind the server past the bound: the page asks no time, and the overdue alarm is raised at once', async () => {
    const id = await backSafeByOffice();
    now = at('14:01');
    const d = await page(lead, id);
    expect(d).toMatchObject({ lateSelfUntil: at('14:00').toISOString(), lateSelfClosed: true });
    // The phone's clock reads 13:56: the page asks no time all the same (it would have refused
    // every time after 14:00, the worker told to phone the office, with no alarm raised).
    vi.useFakeTimers({ toFake: ['Date'], now: at('13:56') });
    expect(words.stillOutClosed(d, true)).toBe(true);
    vi.useRealTimers();
    const r = await pressStillOut(id, {});
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ overdueNow: true, expectedReturnAt: at('14:01').toISOString() });
    expect((await getVisit(db, id))!.returnedAt).toBeNull();
    const open = await db.query(`SELECT type FROM alarms WHERE visit_id = $1 AND status = 'open'`, [id]);
    expect(open.rows).toEqual([{ type: 'overdue_visit' }]);
  });

  it('the office is never asked for no time, nor is a person not on the visit told it is closed', async () => {
    const id = await backSafeByOffice();
    now = at('14:01');
    const d = await page(office, id);
    expect(d).toMatchObject({ lateSelfUntil: null, lateSelfClosed: false });
    expect(words.stillOutClosed(d, false)).toBe(false);
  });
});
