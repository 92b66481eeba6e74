import { describe, expect, it } from 'vitest';
import { outAtTen, pageReadsVisit, phonePageWorld } from '../../helpers/visit-world.ts';
import { sessionFor } from '../../helpers/web.ts';

/**
 * After "I have arrived" the badge still read DEPARTED — on the phone, the office board and the
 * visit register — beside "arrived 10:05". It reads ARRIVED once the arrival is recorded (the status
 * stays `departed` until back safe: the label, not the state); the register's list says when.
 */
interface Row {
  status: string;
  arrivedAt?: string | null;
  returnedAt: string | null;
}
const words = (await import(new URL('../../../web/assets/visit-words.js', import.meta.url).href)) as {
  statusLabel: (v: Row) => string;
};
const w = phonePageWorld('arrived_label', '2026-03-10');

describe('the badge of a visit whose worker has arrived', () => {
  it('reads ARRIVED on the visit page and the register once "I have arrived" is pressed', async () => {
    const id = await outAtTen(w);
    const s = await sessionFor(w.db, w.lead);
    const headers = { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' };
    const list = async () => {
      const r = await w.app.inject({
        method: 'GET',
        url: '/api/visits?school=hampton&date=2026-03-10',
        headers: { cookie: s.cookie },
      });
      expect(r.statusCode, r.body).toBe(200);
      return (r.json() as { visits: (Row & { id: string })[] }).visits.find((v) => v.id === id)!;
    };
    expect(words.statusLabel(await list())).toBe('DEPARTED');

    w.now = new Date('2026-03-10T10:20:00Z');
    const arrive = await w.app.inject({
      method: 'POST',
      url: `/api/visits/${id}/arrive`,
      headers,
      payload: {},
    });
    expect(arrive.statusCode, arrive.body).toBe(200);
    const row = await list();
    expect(row).toMatchObject({ status: 'departed', arrivedAt: '2026-03-10T10:20:00.000Z' });
    expect(words.statusLabel(row)).toBe('ARRIVED');
    const page = await pageReadsVisit<{ visit: Row }>(w, w.lead, id);
    expect(words.statusLabel(page.visit)).toBe('ARRIVED');
  });

  it('reads as the status says otherwise', () => {
    const at = '2026-03-10T10:20:00Z';
    expect(words.statusLabel({ status: 'departed', arrivedAt: null, returnedAt: null })).toBe('DEPARTED');
    expect(words.statusLabel({ status: 'returned', arrivedAt: at, returnedAt: at })).toBe('RETURNED');
    expect(words.statusLabel({ status: 'completed', arrivedAt: at, returnedAt: at })).toBe('COMPLETED');
    expect(words.statusLabel({ status: 'authorised', returnedAt: null })).toBe('AUTHORISED');
  });
});
