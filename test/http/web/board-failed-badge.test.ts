import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Words {
  failedBadge: (f: { what: string; pending?: boolean }) => { text: string; alarm: boolean };
  failedNotShownSaid: (more: { notices: number; records: number; pending: number } | undefined) => string[];
}
// The front end's module (plain JS, no DOM).
const words = (await import(new URL('../../../web/assets/words.js', import.meta.url).href)) as Words;

/**
 * The board's Failed deliveries: a record still being tried is not failed (records-out.md) — badged
 * FAILED, staff could record it by hand in CPOMS and the note land twice. And what the board was not
 * sent of each kind is said, never left out.
 */
describe("the board's failed deliveries, as they are badged", () => {
  it('a record not delivered yet is badged so, never FAILED; a failed one FAILED', () => {
    expect(words.failedBadge({ what: 'record', pending: true })).toEqual({
      text: 'NOT DELIVERED YET',
      alarm: false,
    });
    expect(words.failedBadge({ what: 'record', pending: false })).toEqual({ text: 'FAILED', alarm: true });
    expect(words.failedBadge({ what: 'notice', pending: false })).toEqual({ text: 'FAILED', alarm: true });
    expect(words.failedBadge({ what: 'notice', pending: true })).toEqual({
      text: 'NOT SENT YET',
      alarm: true,
    });
    expect(words.failedBadge({ what: 'notification' })).toEqual({ text: 'FAILED', alarm: true });
    // The board badges each line by it, not with a fixed FAILED.
    const board = readFileSync('web/assets/board.js', 'utf8');
    expect(board).toMatch(/failedBadge\(f\)/);
    expect(board).not.toMatch(/'badge badge-alarm' \}, 'FAILED'/);
  });

  it('says how many more of each kind were not listed', () => {
    expect(words.failedNotShownSaid({ notices: 0, records: 0, pending: 0 })).toEqual([]);
    expect(words.failedNotShownSaid(undefined)).toEqual([]);
    expect(words.failedNotShownSaid({ notices: 1, records: 2, pending: 250 })).toEqual([
      'and 1 more notice to named people not sent, older than those listed — no one was told of it: ask the safeguarding team.',
      'and 2 more failed records, older than those listed: every one is on the Data page.',
      'and 250 more records not delivered yet, written after those listed: still being tried.',
    ]);
    expect(readFileSync('web/assets/board.js', 'utf8')).toMatch(/failedNotShownSaid\(d\.failedNotShown\)/);
  });
});
