import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { requestVisit } from '../../src/visits/request.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { visitWorld } from '../helpers/visit-world.ts';
import { departTold } from '../helpers/visits.ts';
import { addUser, sessionFor } from '../helpers/web.ts';

/**
 * Found by review: whether "I am still out" asks a return time is the server's word at the page's last
 * read (`lateSelfClosed`, read every 20 s), but the page checked the typed time against the worker's
 * own bound (`lateSelfUntil`) at the press, by its clock. Pressed in the seconds after the bound came
 * and before the next read, every time was refused on the page ("phone the office") and nothing was
 * sent — while the server, its bound closed, would have raised the overdue alarm at once whatever time
 * was sent. In doubt, the page now sends the press for the server to decide.
 */
let now = new Date('2026-11-23T10:00:00Z');
const w = visitWorld('still_out_past_bound', () => now);
let db: Db;
let lead: User;
let partner: User;
let office: User;
const at = (hhmmss: string) => new Date(`2026-11-23T${hhmmss.length === 5 ? `${hhmmss}:00` : hhmmss}Z`);

type Read = { at?: Date | null; error?: string };
type Bound = { until?: string | null; whom?: string | null };
const words = (await import(new URL('../../web/assets/visit-words.js', import.meta.url).href)) as {
  returnTimeAhead: (hhmm: string, now?: Date, bound?: Bound) => Read;
  stillOutReturnTime?: (hhmm: string, now?: Date, bound?: Bound) => Read;
};
/** How the "I am still out" form reads a typed time at the server's `now` as the page keeps it. */
const pageReads = (hhmm: string, pageNow: Date, bound: Bound): Read =>
  (words.stillOutReturnTime ?? words.returnTimeAhead)(hhmm, pageNow, bound);

beforeAll(async () => {
  db = w.db;
  lead = await addUser(db, 'lead', ['visiting-staff'], { phone: '+447700900111', displayName: 'Sam Lead' });
  partner = await addUser(db, 'partner', ['visiting-staff'], { phone: '+447700900222' });
  office = await addUser(db, 'office', ['office'], { displayName: 'Olive Office' });
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

async function read(who: User, id: string) {
  const s = await sessionFor(db, who);
  const r = await w.app.inject({ method: 'GET', url: `/api/visits/${id}`, headers: { cookie: s.cookie } });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as { lateSelfUntil: string; lateSelfClosed: boolean };
}

/** "I am still out" as the page posts it: the time it read, if any. */
async function press(id: string, back: Date | null | undefined) {
  const s = await sessionFor(db, lead);
  return w.app.inject({
    method: 'POST',
    url: `/api/visits/${id}/resume-watch`,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    payload: back ? { expectedReturnAt: back.toISOString() } : {},
  });
}

describe('"I am still out" pressed after the worker’s own bound came, before the page read it again', () => {
  for (const [typed, sent] of [
    ['14:30', at('14:30')],
    // A time just passed: none is sent — the server needs none once the bound has come.
    ['13:50', null],
  ] as const)
    it(`typed ${typed}: sent, and the server raises the overdue alarm at once`, async () => {
      const id = await backSafeByOffice();
      now = at('13:59:50');
      const d = await read(lead, id);
      expect(d).toMatchObject({ lateSelfUntil: at('14:00').toISOString(), lateSelfClosed: false });
      // Pressed at 14:00:05: the form still asks a time (the read ten seconds ago said so).
      now = at('14:00:05');
      const t = pageReads(typed, now, { until: d.lateSelfUntil, whom: 'the office' });
      expect(t.error).toBeUndefined();
      expect(t.at ?? null).toEqual(sent);
      const r = await press(id, t.at);
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ overdueNow: true, expectedReturnAt: now.toISOString() });
      expect((await getVisit(db, id))!.returnedAt).toBeNull();
      const open = await db.query(`SELECT type FROM alarms WHERE visit_id = $1 AND status = 'open'`, [id]);
      expect(open.rows).toEqual([{ type: 'overdue_visit' }]);
    });

  it('before the bound the page refuses a time past it, as the server does', async () => {
    const id = await backSafeByOffice();
    now = at('13:50');
    const d = await read(lead, id);
    const t = pageReads('14:30', now, { until: d.lateSelfUntil, whom: 'the office' });
    expect(t.error).toMatch(/phone the office to set a later one/);
    expect((await press(id, at('14:30'))).statusCode).toBe(400);
    const ok = pageReads('13:55', now, { until: d.lateSelfUntil, whom: 'the office' });
    expect(ok).toEqual({ at: at('13:55') });
    const r = await press(id, ok.at);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ overdueNow: false });
    await returnVisit(w.vdeps, lead, id);
  });

  it('the office’s "Still out — watch again" is bounded by 4 hours alone, as before', async () => {
    const id = await backSafeByOffice();
    now = at('14:00:05');
    const d = await read(office, id);
    expect(d.lateSelfUntil).toBeNull();
    expect(pageReads('13:50', now, {})).toMatchObject({
      error: expect.stringMatching(/not within the next 4 hours/),
    });
    expect(pageReads('15:00', now, {})).toEqual({ at: at('15:00') });
  });
});
