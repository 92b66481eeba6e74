import { describe, expect, it } from 'vitest';

// The board's module (its words are plain JS; the DOM is only touched when a line is drawn).
const { brokerSaid } = (await import(
  new URL('../../../web/assets/board-broker.js', import.meta.url).href
)) as {
  brokerSaid: (age: number | null, threshold: number) => { text: string; state: string };
};

/**
 * The newcomer walk: the board's fob line was red, in a broker's words, whenever the fobs were idle
 * ("No event from the broker yet" on a first run; "…quiet for longer than 15 min: fob alarms may not
 * be arriving; check the gateway and the broker"). It speaks to the office now, grey until the first
 * message, amber once quiet too long; red is kept for a connection that is down (the band above).
 */
describe("the board's line on the fobs' last message", () => {
  it('says nothing has come yet, neutral, before the first message', () => {
    expect(brokerSaid(null, 900)).toEqual({ text: 'No fob message yet', state: 'none-yet' });
  });

  it('says how long ago while within the threshold', () => {
    expect(brokerSaid(42, 900)).toEqual({ text: 'Last fob message 42 s ago', state: 'arriving' });
    expect(brokerSaid(900, 900)).toEqual({ text: 'Last fob message 15 min 00 s ago', state: 'arriving' });
  });

  it('past the threshold, says what to do in the office’s words', () => {
    expect(brokerSaid(901, 900)).toEqual({
      text: 'No message from the fobs for 15 min — tell IT or the data manager',
      state: 'quiet',
    });
    expect(brokerSaid(3725, 900).text).toBe(
      'No message from the fobs for 62 min — tell IT or the data manager',
    );
    for (const age of [null, 5, 4000]) expect(brokerSaid(age, 900).text).not.toMatch(/broker|gateway/);
  });
});
