import { afterEach, describe, expect, it, vi } from 'vitest';
import { pageModule, phoneClockAt } from '../helpers/visit-world.ts';

/**
 * Found by review: the phone page took the server's time (`serverNow`) from any answer that said it,
 * however it read and however long the answer took. `Date.parse` reads "12" as December 2001 and a
 * bare date as its midnight; a round trip the phone's clock was set back across, or one the phone
 * slept through (the answer handled minutes after it came), put the middle of the round trip far
 * from the server's moment. The offset was then minutes or years wrong until the next answer, and
 * the page refused every return time "I am still out" and running late could send — no alarm raised.
 * In doubt, the page now keeps the offset it heard before.
 */
const app = await pageModule<{
  api: (method: string, url: string) => Promise<Record<string, unknown>>;
  serverNow: () => Date;
}>('app.js');

const T = (hhmmss: string) => new Date(`2026-11-23T${hhmmss}Z`);

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/**
 * The page reads an answer saying `serverNow` with the phone's clock at `sent` when it asks, and at
 * `answered` when the answer is handled.
 */
async function answer(serverNow: unknown, sent: Date, answered: Date) {
  phoneClockAt(sent);
  vi.stubGlobal('fetch', async () => {
    vi.setSystemTime(answered);
    return new Response(JSON.stringify({ serverNow }), { headers: { 'content-type': 'application/json' } });
  });
  await app.api('GET', '/api/visits/1');
}

/** The phone 7 minutes slow: the server's 10:07:00 heard over a quick round trip at the phone's 10:00:00. */
async function heardWell() {
  await answer('2026-11-23T10:07:00.000Z', T('09:59:59.900'), T('10:00:00.100'));
  expect(app.serverNow().toISOString()).toBe('2026-11-23T10:07:00.100Z');
}

describe('the page’s offset to the server’s clock is kept when an answer cannot be trusted for it', () => {
  it('text that is not an instant as the server writes one leaves the offset as it was', async () => {
    for (const said of ['12', '2001', ' 3 ', '2026-11-23', 'Mon, 23 Nov 2026 10:07:00 GMT', 'garbage', '']) {
      await heardWell();
      await answer(said, T('10:00:10.000'), T('10:00:10.200'));
      expect(app.serverNow().toISOString(), JSON.stringify(said)).toBe('2026-11-23T10:07:10.200Z');
    }
    // Missing, or not text: the same.
    for (const said of [undefined, null, 1_795_000_000_000]) {
      await heardWell();
      await answer(said, T('10:00:10.000'), T('10:00:10.200'));
      expect(app.serverNow().toISOString()).toBe('2026-11-23T10:07:10.200Z');
    }
  });

  it('an answer the phone slept through (handled 10 minutes after it came) leaves the offset as it was', async () => {
    await heardWell();
    // Asked at the phone's 10:01:00, answered by the server at once (its 10:08:00), handled at the
    // phone's 10:11:00: taken at the middle, the server would seem 5 minutes behind where it is.
    await answer('2026-11-23T10:08:00.000Z', T('10:01:00.000'), T('10:11:00.000'));
    expect(app.serverNow().toISOString()).toBe('2026-11-23T10:18:00.000Z');
  });

  it('an answer whose round trip the phone’s clock was set back across leaves the offset as it was', async () => {
    await heardWell();
    // Asked at the phone's 10:01:00; the phone's clock set back 10 minutes while it came.
    await answer('2026-11-23T10:08:00.000Z', T('10:01:00.000'), T('09:51:00.200'));
    expect(app.serverNow().toISOString()).toBe('2026-11-23T09:58:00.200Z');
  });

  it('a quick answer is always taken (the phone’s clock set right since), a slow one not over it', async () => {
    await heardWell();
    // The phone's clock set right: the next quick answer moves the offset to nothing.
    await answer('2026-11-23T10:08:00.000Z', T('10:07:59.900'), T('10:08:00.100'));
    expect(app.serverNow().toISOString()).toBe('2026-11-23T10:08:00.100Z');
    // A 12-second round trip (the server's moment anywhere in it): the quick one's offset is kept.
    await answer('2026-11-23T10:09:04.000Z', T('10:08:54.000'), T('10:09:06.000'));
    expect(app.serverNow().toISOString()).toBe('2026-11-23T10:09:06.000Z');
  });
});
