import { describe, expect, it } from 'vitest';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import { outAtTen, pageModule, pagePosts, pageReadsVisit, phonePageWorld } from '../helpers/visit-world.ts';

/**
 * Found by review: whether "I am still out" asks a return time is the server's word at the page's last
 * read (`lateSelfClosed`, read every 20 s), but the page checked the typed time against the worker's
 * own bound (`lateSelfUntil`) at the press, by its clock. Pressed in the seconds after the bound came
 * and before the next read, every time was refused on the page ("phone the office") and nothing was
 * sent — while the server, its bound closed, would have raised the overdue alarm at once whatever time
 * was sent. In doubt, the page now sends the press for the server to decide.
 */
const w = phonePageWorld('still_out_past_bound', '2026-11-23');
const at = (hhmmss: string) => new Date(`2026-11-23T${hhmmss.length === 5 ? `${hhmmss}:00` : hhmmss}Z`);

type Read = { at?: Date | null; error?: string };
type Bound = { until?: string | null; whom?: string | null };
const words = await pageModule<{
  returnTimeAhead: (hhmm: string, now?: Date, bound?: Bound) => Read;
  stillOutReturnTime?: (hhmm: string, now?: Date, bound?: Bound) => Read;
}>('visit-words.js');
/** How the "I am still out" form reads a typed time at the server's `now` as the page keeps it. */
const pageReads = (hhmm: string, pageNow: Date, bound: Bound): Read =>
  (words.stillOutReturnTime ?? words.returnTimeAhead)(hhmm, pageNow, bound);

const read = (who: User, id: string) =>
  pageReadsVisit<{ lateSelfUntil: string; lateSelfClosed: boolean }>(w, who, id);

/** "I am still out" as the page posts it: the time it read, if any. */
const press = (id: string, back: Date | null | undefined) =>
  pagePosts(
    w,
    w.lead,
    `/api/visits/${id}/resume-watch`,
    back ? { expectedReturnAt: back.toISOString() } : {},
  );

describe('"I am still out" pressed after the worker’s own bound came, before the page read it again', () => {
  for (const [typed, sent] of [
    ['14:30', at('14:30')],
    // A time just passed: none is sent — the server needs none once the bound has come.
    ['13:50', null],
  ] as const)
    it(`typed ${typed}: sent, and the server raises the overdue alarm at once`, async () => {
      const id = await outAtTen(w, { backSafeByOffice: true });
      w.now = at('13:59:50');
      const d = await read(w.lead, id);
      expect(d).toMatchObject({ lateSelfUntil: at('14:00').toISOString(), lateSelfClosed: false });
      // Pressed at 14:00:05: the form still asks a time (the read ten seconds ago said so).
      w.now = at('14:00:05');
      const t = pageReads(typed, w.now, { until: d.lateSelfUntil, whom: 'the office' });
      expect(t.error).toBeUndefined();
      expect(t.at ?? null).toEqual(sent);
      const r = await press(id, t.at);
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ overdueNow: true, expectedReturnAt: w.now.toISOString() });
      expect((await getVisit(w.db, id))!.returnedAt).toBeNull();
      const open = await w.db.query(`SELECT type FROM alarms WHERE visit_id = $1 AND status = 'open'`, [id]);
      expect(open.rows).toEqual([{ type: 'overdue_visit' }]);
    });

  it('before the bound the page refuses a time past it, as the server does', async () => {
    const id = await outAtTen(w, { backSafeByOffice: true });
    w.now = at('13:50');
    const d = await read(w.lead, id);
    const t = pageReads('14:30', w.now, { until: d.lateSelfUntil, whom: 'the office' });
    expect(t.error).toMatch(/phone the office to set a later one/);
    expect((await press(id, at('14:30'))).statusCode).toBe(400);
    const ok = pageReads('13:55', w.now, { until: d.lateSelfUntil, whom: 'the office' });
    expect(ok).toEqual({ at: at('13:55') });
    const r = await press(id, ok.at);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ overdueNow: false });
    await returnVisit(w.vdeps, w.lead, id);
  });

  it('the office’s "Still out — watch again" is bounded by 4 hours alone, as before', async () => {
    const id = await outAtTen(w, { backSafeByOffice: true });
    w.now = at('14:00:05');
    const d = await read(w.office, id);
    expect(d.lateSelfUntil).toBeNull();
    expect(pageReads('13:50', w.now, {})).toMatchObject({
      error: expect.stringMatching(/not within the next 4 hours/),
    });
    expect(pageReads('15:00', w.now, {})).toEqual({ at: at('15:00') });
  });
});
