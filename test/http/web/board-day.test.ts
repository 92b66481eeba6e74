import { beforeAll, describe, expect, it } from 'vitest';
import { pageModule, visitWorld } from '../../helpers/visit-world.ts';
import { addUser, sessionFor } from '../../helpers/web.ts';

/**
 * A board left open over midnight said yesterday's date in its toolbar while "Today's visits" and
 * "Resolved today" had moved to the new day: the date was the browser's, taken once when the page
 * opened. The board's answer now says the London day its lists are for, and the toolbar says that
 * day on every re-read.
 */
interface Words {
  boardDaySaid: (day: string | null | undefined, now?: Date) => string;
}
const words = await pageModule<Words>('words.js');

let now = new Date('2026-06-05T22:59:00Z');
const w = visitWorld('boardday', () => now);
let office: { cookie: string; csrf: string };

beforeAll(async () => {
  office = await sessionFor(w.db, await addUser(w.db, 'olive', ['office'], { schools: ['lime'] }));
});

describe('the board’s date', () => {
  it('is the London day the board’s lists are for, and turns with them at midnight', async () => {
    const day = async () => {
      const r = await w.app.inject({ url: '/api/board?school=lime', headers: { cookie: office.cookie } });
      expect(r.statusCode).toBe(200);
      return words.boardDaySaid(r.json().day);
    };
    // 23:59 in London (summer time: an hour ahead of UTC), then 00:01 the next day.
    expect(await day()).toBe('Friday 5 June 2026');
    now = new Date('2026-06-05T23:01:00Z');
    expect(await day()).toBe('Saturday 6 June 2026');
  });

  it('says the day it is given, whatever the browser’s clock; without one, the server’s now', () => {
    expect(words.boardDaySaid('2026-12-05', new Date('2026-12-04T23:43:00Z'))).toBe(
      'Saturday 5 December 2026',
    );
    expect(words.boardDaySaid('2026-03-29')).toBe('Sunday 29 March 2026');
    expect(words.boardDaySaid(undefined, new Date('2026-12-04T23:43:00Z'))).toBe('Friday 4 December 2026');
  });
});
