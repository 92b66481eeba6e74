import nock from 'nock';
import { describe, expect, it } from 'vitest';
import type { ImportUnit } from '../../../connectors/mis/types.ts';
import { wondeSourceTests } from '../../helpers/wonde-api.ts';

/**
 * Found by review: a page with no rows ended a Wonde list, and was given out as its last page, even
 * when it said there was more (`more: true`, a next link). The attendance cursor (`updated_after`,
 * strict) moved past the pages never read — a mark on page 3 was never read at any later sync — and a
 * students list ended there left the pupils on its unread pages out of the roll: a student deleted
 * once and restored was marked off roll by the old deletion. Such a page is now refused before it is
 * given out (nothing after it asked for): the cursor stays and the sync fails loudly; a leavers list
 * ended so is said not read, and marks nobody off roll.
 */
const { BASE, S, none, source, lists } = wondeSourceTests('2025-01-14T10:00:00Z');
const last = { next: null, more: false };
const row = (date: string, session: string, updated: string) => ({
  student: 'S1',
  date,
  session,
  attendance_code: { data: { code: 'N' } },
  updated_at: updated,
});

/** Drains a pull to its end or its refusal: the units given out, and the refusal's message. */
async function drain(units: AsyncIterable<ImportUnit>) {
  const seen: {
    label: string;
    cursor: string | undefined;
    notRead: string | undefined;
    leavers: string[];
  }[] = [];
  try {
    for await (const u of units) {
      const leavers: string[] = [];
      for await (const b of u.batches())
        if (b.kind === 'leavers') leavers.push(...b.leavers.map((l) => l.misId));
      seen.push({ label: u.label, cursor: u.cursorAfter?.(), notRead: u.notRead, leavers });
    }
  } catch (err) {
    return { seen, refused: (err as Error).message };
  }
  return { seen, refused: undefined };
}

describe('Wonde: a page with no rows that says there is more', () => {
  it.each([
    ['more: true and a next link', { next: `${BASE}${S}/attendance/session?page=3`, more: true }],
    ['a next link only', { next: `${BASE}${S}/attendance/session?page=3`, more: false }],
    ['more: true, no link', { next: null, more: true }],
  ])(
    '(%s) is refused before it is given out: the cursor stays before the pages never read',
    async (_, pagination) => {
      let page3Asked = 0;
      lists([{ id: 'S1', mis_id: 1001 }])
        .get(`${S}/attendance/session`)
        .query((q) => q.page === undefined)
        .reply(200, {
          data: [row('2025-01-13', 'AM', '2025-01-13 16:00:00')],
          meta: {
            pagination: { next: `${BASE}${S}/attendance/session?page=2`, more: true, current_page: 1 },
          },
        })
        .get(`${S}/attendance/session`)
        .query({ page: '2' })
        .reply(200, { data: [], meta: { pagination: { ...pagination, current_page: 2 } } })
        // Page 3 holds a mark changed before page 1's: a cursor moved to 2025-01-13 15:55 skips it for ever.
        .get(`${S}/attendance/session`)
        .query({ page: '3' })
        .optionally()
        .reply(() => {
          page3Asked++;
          return [
            200,
            { data: [row('2025-01-10', 'PM', '2025-01-10 09:00:00')], meta: { pagination: last } },
          ];
        });
      const { seen, refused } = await drain(source().pull({ value: '2025-01-01 00:00:00' }));
      expect(refused).toBe(
        'Wonde session attendance page 2, field meta.pagination: the page has no rows but says there is more (more, or a next link): the list does not end here and the pages after it cannot be read; the rest cannot be read',
      );
      // Page 1 was given out (it links on) without moving the cursor; the empty page was not given out,
      // and nothing after it was asked for (a server answering every page so is not read 10,000 times).
      expect(seen.filter((u) => u.label.startsWith('wonde attendance'))).toEqual([
        { label: 'wonde attendance page 1', cursor: undefined, notRead: undefined, leavers: [] },
      ]);
      expect(page3Asked).toBe(0);
    },
  );

  it('a students list ended so is refused: the pupils on its unread pages are never taken off roll', async () => {
    nock(BASE)
      .get(`${S}/students`)
      .query((q) => q.page === undefined)
      .reply(200, {
        data: [{ id: 'S1', mis_id: 1001 }],
        meta: { pagination: { next: `${BASE}${S}/students?page=2`, more: true, current_page: 1 } },
      })
      .get(`${S}/students`)
      .query({ page: '2' })
      .reply(200, {
        data: [],
        meta: { pagination: { next: `${BASE}${S}/students?page=3`, more: true, current_page: 2 } },
      })
      .get(`${S}/students`)
      .query({ page: '3' })
      .optionally()
      .reply(200, { data: [{ id: 'S2', mis_id: 1002 }], meta: { pagination: { ...last, current_page: 3 } } })
      .get(`${S}/students-leaver`)
      .query(true)
      .optionally()
      .reply(200, none)
      // S2 (page 3) was deleted once and restored: Wonde lists every deletion the school ever had.
      .get(`${S}/deletions`)
      .query(true)
      .optionally()
      .reply(200, { data: [{ id: 'S2', type: 'student', mis_id: 1002 }], meta: { pagination: last } })
      .get(`${S}/attendance/session`)
      .query(true)
      .optionally()
      .reply(200, none);
    const { seen, refused } = await drain(source(1).pull({ value: null }));
    expect(refused).toMatch(
      /^Wonde students page 2, field meta.pagination: the page has no rows but says there is more/,
    );
    expect(seen.map((u) => u.label)).toEqual(['wonde students page 1']);
    expect(seen.flatMap((u) => u.leavers)).toEqual([]);
  });

  it('a students-leaver list ended so is said not read and marks nobody off roll; the sync goes on', async () => {
    nock(BASE)
      .get(`${S}/students`)
      .query(true)
      .reply(200, { data: [{ id: 'S1', mis_id: 1001 }], meta: { pagination: last } })
      .get(`${S}/students-leaver`)
      .query((q) => q.page === undefined)
      .reply(200, {
        data: [{ id: 'L1', mis_id: 2001 }],
        meta: { pagination: { next: `${BASE}${S}/students-leaver?page=2`, more: true, current_page: 1 } },
      })
      .get(`${S}/students-leaver`)
      .query({ page: '2' })
      .reply(200, {
        data: [],
        meta: { pagination: { next: `${BASE}${S}/students-leaver?page=3`, more: true, current_page: 2 } },
      })
      .get(`${S}/deletions`)
      .query(true)
      .reply(200, none)
      .get(`${S}/attendance/session`)
      .query(true)
      .reply(200, { data: [row('2025-01-13', 'AM', '2025-01-13 16:00:00')], meta: { pagination: last } });
    const { seen, refused } = await drain(source(1).pull({ value: null }));
    expect(refused).toBeUndefined();
    expect(seen.find((u) => u.label === 'wonde students-leaver')).toEqual({
      label: 'wonde students-leaver',
      cursor: undefined,
      notRead:
        'Wonde students-leaver could not be read: Wonde student leavers page 2, field meta.pagination: the page has no rows but says there is more (more, or a next link): the list does not end here and the pages after it cannot be read; the rest cannot be read; pupils who left are not marked off roll until it can',
      leavers: [],
    });
    expect(seen.flatMap((u) => u.leavers)).toEqual([]);
    expect(seen.at(-1)).toMatchObject({ label: 'wonde attendance page 1', cursor: '2025-01-13 15:55:00' });
  });
});
