import { describe, expect, it, vi } from 'vitest';
import type { User } from '../../src/store/users.ts';
import { getVisit } from '../../src/store/visits.ts';
import { returnVisit } from '../../src/visits/while-out.ts';
import {
  outAtTen,
  pageModule,
  pagePosts,
  pageReadsVisit,
  phoneClockAt,
  phonePageWorld,
} from '../helpers/visit-world.ts';

/**
 * Found by review: the phone page decided by the phone's own clock whether "I am still out" asks a
 * return time (`lateSelfUntil` come), where the server decides it by its own (ownReturnTimeClosed).
 * A phone a few minutes ahead of the server, just before the worker's own bound, asked no time and
 * told them an alarm would be raised; the server refused the press for want of a time, and the page
 * had no field to give one. A phone behind it asked for a time and refused every time past the bound,
 * where the server would have raised the overdue alarm at once. Now the server says (`lateSelfClosed`).
 */
const w = phonePageWorld('still_out_asks_time', '2026-11-23');
const at = (hhmm: string) => new Date(`2026-11-23T${hhmm}:00Z`);

const words = await pageModule<{
  stillOutClosed: (d: { lateSelfClosed?: boolean }, self: boolean) => boolean;
}>('visit-words.js');

/** The phone page's data, read at the server's `now`. */
const page = (who: User, id: string) =>
  pageReadsVisit<{ lateSelfUntil: string | null; lateSelfClosed?: boolean }>(w, who, id);

/** "I am still out" as the page posts it: a time only when it asks one. */
const pressStillOut = (id: string, body: Record<string, string>) =>
  pagePosts(w, w.lead, `/api/visits/${id}/resume-watch`, body);

describe('"I am still out" asks a return time exactly when the server needs one', () => {
  it('a phone ahead of the server just before the bound: the page asks a time, as the server needs', async () => {
    const id = await outAtTen(w, { backSafeByOffice: true });
    w.now = at('13:58');
    const d = await page(w.lead, id);
    expect(d).toMatchObject({ lateSelfUntil: at('14:00').toISOString(), lateSelfClosed: false });
    // The phone's clock reads 14:03: the page still asks a time.
    phoneClockAt(at('14:03'));
    expect(words.stillOutClosed(d, true)).toBe(false);
    vi.useRealTimers();
    // Without one the server refuses (what the page did before); with one it takes it.
    expect((await pressStillOut(id, {})).statusCode).toBe(400);
    const r = await pressStillOut(id, { expectedReturnAt: at('13:59').toISOString() });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ overdueNow: false });
    await returnVisit(w.vdeps, w.lead, id);
  });

  it('a phone behind the server past the bound: the page asks no time, and the overdue alarm is raised at once', async () => {
    const id = await outAtTen(w, { backSafeByOffice: true });
    w.now = at('14:01');
    const d = await page(w.lead, id);
    expect(d).toMatchObject({ lateSelfUntil: at('14:00').toISOString(), lateSelfClosed: true });
    // The phone's clock reads 13:56: the page asks no time all the same (it would have refused
    // every time after 14:00, the worker told to phone the office, with no alarm raised).
    phoneClockAt(at('13:56'));
    expect(words.stillOutClosed(d, true)).toBe(true);
    vi.useRealTimers();
    const r = await pressStillOut(id, {});
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ overdueNow: true, expectedReturnAt: at('14:01').toISOString() });
    expect((await getVisit(w.db, id))!.returnedAt).toBeNull();
    const open = await w.db.query(`SELECT type FROM alarms WHERE visit_id = $1 AND status = 'open'`, [id]);
    expect(open.rows).toEqual([{ type: 'overdue_visit' }]);
  });

  it('the office is never asked for no time, nor is a person not on the visit told it is closed', async () => {
    const id = await outAtTen(w, { backSafeByOffice: true });
    w.now = at('14:01');
    const d = await page(w.office, id);
    expect(d).toMatchObject({ lateSelfUntil: null, lateSelfClosed: false });
    expect(words.stillOutClosed(d, false)).toBe(false);
  });
});
