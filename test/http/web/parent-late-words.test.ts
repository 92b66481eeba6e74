import { describe, expect, it } from 'vitest';

/**
 * Thames View 3.5 as the office board's visit card and the phone page (on the way, at the door) say
 * it: the parent/carer's warning that they are running late, who recorded it and when, and what the
 * pair do — the same words in each place.
 */
const words = (await import(new URL('../../../web/assets/words.js', import.meta.url).href)) as {
  parentLateSaid: (
    n: { at: string; by: string | null; cancelAfterMinutes: number | null },
    time: (iso: string) => string,
  ) => string;
};
const time = (iso: string) => iso.slice(11, 16);

describe('the parent’s warning that they are running late, in words', () => {
  it('names who recorded it, when, not to go in, and the lateness limit', () => {
    expect(
      words.parentLateSaid(
        { at: '2026-11-24T09:00:00.000Z', by: 'Olive Office', cancelAfterMinutes: 30 },
        time,
      ),
    ).toBe(
      'Parent said they are running late — recorded by Olive Office at 09:00: do not go in until they arrive; cancel once they are over 30 minutes late',
    );
  });

  it('without a name (an account since removed) or a limit, says what it knows', () => {
    expect(
      words.parentLateSaid({ at: '2026-11-24T09:05:00.000Z', by: null, cancelAfterMinutes: null }, time),
    ).toBe('Parent said they are running late — recorded at 09:05: do not go in until they arrive');
  });
});
