import { describe, expect, it } from 'vitest';
import { renderLoneWorkerIncident } from '../../../src/records/templates/lone-worker-incident.ts';
import { outAtTen, phonePageWorld } from '../../helpers/visit-world.ts';
import { sessionFor } from '../../helpers/web.ts';

/**
 * A worker on a tablet or laptop placed by its IP address or Wi-Fi (±150 km is common) pressed "I
 * need help": the press was raised, but its position was refused (accuracy over 100 km) and the page
 * dropped the refusal unsaid — the office got no position at all, where a coarse one is better than
 * none. Any accuracy is kept and said as it is; the page tries a failed send again, then tells the
 * worker their position was not sent.
 */
const w = phonePageWorld('help_coarse', '2026-03-10');

interface HelpPosition {
  POSITION_NOT_SENT: string;
  sendWithRetries: (
    send: () => Promise<unknown>,
    o?: { tries?: number; waitMs?: number; sleep?: (ms: number) => Promise<void> },
  ) => Promise<boolean>;
}
// The page's module (plain JS, no DOM).
const page = (await import(
  new URL('../../../web/assets/help-position.js', import.meta.url).href
)) as HelpPosition;

describe('a coarse help position', () => {
  it('a position of ±150 km (as IP geolocation gives) is kept on the help alarm, not refused', async () => {
    const id = await outAtTen(w);
    const s = await sessionFor(w.db, w.lead);
    const headers = { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' };
    const help = await w.app.inject({ method: 'POST', url: `/api/visits/${id}/help`, headers, payload: {} });
    expect(help.statusCode, help.body).toBe(200);
    const alarmId = help.json().alarmId as string;
    const location = { lat: 53.8, lon: -1.55, accuracyM: 150_000 };
    const pos = await w.app.inject({
      method: 'POST',
      url: `/api/visits/${id}/help-position`,
      headers,
      payload: { alarmId, location },
    });
    expect(pos.statusCode, pos.body).toBe(200);
    const { rows } = await w.db.query<{ location: unknown }>('SELECT location FROM alarms WHERE id = $1', [
      alarmId,
    ]);
    expect(rows[0]!.location).toEqual(location);
  });

  it('the press itself may carry a coarse position; a position still has to be on the Earth', async () => {
    const id = await outAtTen(w);
    const s = await sessionFor(w.db, w.lead);
    const headers = { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' };
    const help = await w.app.inject({
      method: 'POST',
      url: `/api/visits/${id}/help`,
      headers,
      payload: { location: { lat: 53.8, lon: -1.55, accuracyM: 250_000 } },
    });
    expect(help.statusCode, help.body).toBe(200);
    for (const location of [
      { lat: 91, lon: -1.55, accuracyM: 10 },
      { lat: 53.8, lon: -181, accuracyM: 10 },
      { lat: 53.8, lon: -1.55, accuracyM: -1 },
    ]) {
      const r = await w.app.inject({
        method: 'POST',
        url: `/api/visits/${id}/help`,
        headers,
        payload: { location },
      });
      expect(r.statusCode, JSON.stringify(location)).toBe(400);
    }
  });

  it('the incident record says the accuracy as it is, in a unit a reader takes in', () => {
    const record = (accuracyM: number) =>
      renderLoneWorkerIncident({
        alarmId: '1',
        staff: 'Sam Lead',
        deviceId: null,
        type: 'sos',
        raisedAt: new Date('2026-03-10T10:05:00Z'),
        location: { lat: 53.8, lon: -1.55, accuracyM },
        timeline: [],
        resolution: { reason: 'false_alarm', by: 'J. Smith', at: new Date('2026-03-10T10:09:00Z') },
        pupils: [],
      }).body;
    expect(record(150_000)).toContain('Location: 53.80000, -1.55000 (±150 km)');
    expect(record(1_500)).toContain('(±1.5 km)');
    expect(record(12.4)).toContain('(±12 m)');
  });
});

describe('the phone page sending the position', () => {
  const sleep = async () => {};

  it('tries a failed send again, and is done once it goes', async () => {
    let calls = 0;
    const sent = await page.sendWithRetries(
      async () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error('no connection'), { status: undefined });
      },
      { sleep },
    );
    expect({ sent, calls }).toEqual({ sent: true, calls: 3 });
  });

  it('gives up after a few tries, or at once when refused for good — and then says so', async () => {
    let calls = 0;
    const down = await page.sendWithRetries(
      async () => {
        calls++;
        throw Object.assign(new Error('HTTP 503'), { status: 503 });
      },
      { tries: 4, sleep },
    );
    expect({ down, calls }).toEqual({ down: false, calls: 4 });
    calls = 0;
    const refused = await page.sendWithRetries(
      async () => {
        calls++;
        throw Object.assign(new Error('location.accuracyM: too big'), { status: 400 });
      },
      { sleep },
    );
    expect({ refused, calls }).toEqual({ refused: false, calls: 1 });
    expect(page.POSITION_NOT_SENT).toBe(
      'Your position was not sent — tell the office where you are when they call.',
    );
  });
});
