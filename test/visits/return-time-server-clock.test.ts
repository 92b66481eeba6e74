import { describe, expect, it, vi } from 'vitest';
import { returnVisit } from '../../src/visits/while-out.ts';
import {
  outAtTen,
  pageModule,
  pagePosts,
  phoneAgainstApp,
  phoneClockAt,
  phonePageWorld,
} from '../helpers/visit-world.ts';

/**
 * Found by review: the phone page checked a typed return time ("New return time", "Back by") against
 * the phone's own clock, where the server checks it against its own. A phone 5 minutes ahead of the
 * server, in the last minutes before the worker's own bound (`lateSelfUntil`), refused every time
 * typed — each one "passed" or past the bound, "phone the office" — while the server would have taken
 * it; a phone behind the server took times just passed, which the server then refused. Now the
 * visit's answer says the server's time (`serverNow`), the page keeps how far the phone is off it
 * (app.js, at each answer) and checks against `serverNow()`.
 */
const w = phonePageWorld('return_time_server_clock', '2026-11-23');
const at = (hhmm: string) => new Date(`2026-11-23T${hhmm}:00Z`);

type Checked = { at?: Date; error?: string };
// The page's own modules, as the phone runs them: the API call that hears the server's time, its
// clock, and the check both return-time forms make (checkedReturnTime: `returnTimeAhead` at `serverNow()`).
const app = await pageModule<{
  api: (method: string, url: string) => Promise<Record<string, unknown>>;
  serverNow?: () => Date;
}>('app.js');
const words = await pageModule<{
  returnTimeAhead: (
    hhmm: string,
    now?: Date,
    bound?: { until?: string | null; whom?: string | null },
  ) => Checked;
}>('visit-words.js');

/**
 * The phone page reads the visit (visit.js `load`, through app.js `api`) with the phone's clock at
 * `phone` and the server's at `now`: the request goes to the real app.
 */
async function pageReads(id: string, phone: Date) {
  await phoneAgainstApp(w, w.lead, phone);
  const d = await app.api('GET', `/api/visits/${id}`);
  expect(d).toMatchObject({ lateSelfUntil: at('14:00').toISOString() });
  expect(d.actions).toContain('running-late');
  return d as { lateSelfUntil: string; serverNow?: string };
}

/** The page's check of a typed time, as the running-late and "I am still out" forms make it. */
const pageChecks = (hhmm: string, until: string) =>
  words.returnTimeAhead(hhmm, undefined, { until, whom: 'the office' });

/** Running late as the page posts it, at the server's `now`. */
const postLate = (id: string, hhmm: string) =>
  pagePosts(w, w.lead, `/api/visits/${id}/running-late`, {
    expectedReturnAt: at(hhmm).toISOString(),
    reason: 'parent arrived late',
  });

describe('the phone page checks a return time against the server’s clock, not the phone’s', () => {
  it('a phone 5 minutes fast, 4 minutes before the worker’s own bound: every time the server takes, the page takes', async () => {
    const id = await outAtTen(w);
    w.now = at('13:56');
    // The phone's clock reads 14:01: by it every time up to 14:00 had passed and any later one was
    // past the bound ("phone the office").
    const d = await pageReads(id, at('14:01'));
    for (const hhmm of ['13:57', '13:58', '13:59', '14:00']) {
      expect(pageChecks(hhmm, d.lateSelfUntil), hhmm).toEqual({ at: at(hhmm) });
      vi.useRealTimers();
      const r = await postLate(id, hhmm);
      expect(r.statusCode, r.body).toBe(200);
      phoneClockAt(at('14:01'));
    }
    // Past the bound, both refuse it, the page saying whom to phone.
    expect(pageChecks('14:01', d.lateSelfUntil).error).toMatch(/phone the office to set a later one/);
    vi.useRealTimers();
    expect((await postLate(id, '14:01')).statusCode).toBe(400);
    expect(d.serverNow).toBe(at('13:56').toISOString());
    await returnVisit(w.vdeps, w.lead, id);
  });

  it('a phone 5 minutes slow: a time just passed by the server’s clock is refused by the page as by the server', async () => {
    const id = await outAtTen(w);
    w.now = at('13:00');
    // The phone's clock reads 12:55: by it 12:57 and 13:00 were still to come.
    const d = await pageReads(id, at('12:55'));
    for (const hhmm of ['12:57', '13:00']) {
      expect(pageChecks(hhmm, d.lateSelfUntil), hhmm).toEqual({
        error: expect.stringMatching(/is not within the next 4 hours \(it is 13:00 now\)/),
      });
      vi.useRealTimers();
      const r = await postLate(id, hhmm);
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().message).toMatch(/is not in the future/);
      phoneClockAt(at('12:55'));
    }
    // The next minute on the server's clock is taken by both.
    expect(pageChecks('13:01', d.lateSelfUntil)).toEqual({ at: at('13:01') });
    vi.useRealTimers();
    expect((await postLate(id, '13:01')).statusCode).toBe(200);
    await returnVisit(w.vdeps, w.lead, id);
  });

  it('the page’s clock is the phone’s moved by the offset last heard, kept as the phone’s clock runs on', async () => {
    const id = await outAtTen(w);
    w.now = at('11:00');
    await pageReads(id, at('11:07'));
    expect(app.serverNow?.().toISOString()).toBe(at('11:00').toISOString());
    // Twenty minutes on, by the phone, with no answer heard since: twenty minutes on by the server.
    vi.setSystemTime(at('11:27'));
    expect(app.serverNow?.().toISOString()).toBe(at('11:20').toISOString());
    await returnVisit(w.vdeps, w.lead, id);
  });
});
