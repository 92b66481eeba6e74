import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { collectUnits } from '../../helpers/mis.ts';
import { wondeSourceTests } from '../../helpers/wonde-api.ts';

/**
 * Found by review: a Wonde page refused for its shape named the list only — "Wonde session attendance
 * (…/attendance/session): unexpected response shape at data.1.date" — not which page, and its row
 * zero-based within that page. It now names the page, and the row one-based as every other refusal
 * does ("record 2, field date").
 */
const { BASE, S, last, source, lists } = wondeSourceTests('2025-06-14T10:00:00Z');
const row = (date: string, session: string) => ({
  student: 'S1',
  date,
  session,
  attendance_code: { data: { code: 'N' } },
  updated_at: '2025-06-11 16:00:00',
});
describe('Wonde: a page refused for its shape', () => {
  it('names the page, and the record one-based; the pages before it are given out, the cursor stays', async () => {
    lists([{ id: 'S1', mis_id: 1001 }])
      .get(`${S}/attendance/session`)
      .query((q) => q.page === undefined)
      .reply(200, {
        data: [row('2025-06-10', 'AM'), row('2025-06-10', 'PM')],
        meta: { pagination: { next: `${BASE}${S}/attendance/session?page=2`, more: true, current_page: 1 } },
      })
      .get(`${S}/attendance/session`)
      .query((q) => q.page === '2')
      .reply(200, {
        data: [row('2025-06-11', 'AM'), row('2025-06-01 23:30:00 UTC', 'PM')],
        meta: { pagination: { next: null, more: false, current_page: 2 } },
      });
    const units: { label: string; cursor: string | undefined }[] = [];
    const drained = (async () => {
      for await (const u of source().pull({ value: '2025-06-01 00:00:00' })) {
        for await (const _ of u.batches());
        units.push({ label: u.label, cursor: u.cursorAfter?.() });
      }
    })();
    await expect(drained).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      message:
        'Wonde session attendance page 2 (https://api.wonde.com/v1.0/schools/A1930499544/attendance/session): unexpected response shape at record 2, field date: expected a date as YYYY-MM-DD, its time (if any) in Europe/London, UTC or with an offset',
    });
    expect(units.at(-1)).toEqual({ label: 'wonde attendance page 1', cursor: undefined });
  });

  it('a field outside the rows is named on its page; a row with no field named is its record', async () => {
    lists([{ id: 'S1' }]);
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      'Wonde students page 1 (https://api.wonde.com/v1.0/schools/A1930499544/students): unexpected response shape at record 1, field mis_id: ',
    );
    nock(BASE)
      .get(`${S}/students`)
      .query(true)
      .reply(200, { data: ['S1'], meta: last });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /^Wonde students page 1 \(.*\/students\): unexpected response shape at record 1: /,
    );
    nock(BASE)
      .get(`${S}/students`)
      .query(true)
      .reply(200, { data: [], meta: { pagination: { next: 7 } } });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /^Wonde students page 1 \(.*\/students\): unexpected response shape at meta\.pagination\.next: /,
    );
  });
});
