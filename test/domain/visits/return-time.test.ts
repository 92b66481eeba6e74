import { describe, expect, it } from 'vitest';
import { MAX_RETURN_AHEAD_MINUTES, returnTimeProblem } from '../../../src/domain/visits/return-time.ts';

const now = new Date('2026-11-23T11:05:00Z'); // 11:05 in London (GMT)
const ahead = (m: number) => new Date(now.getTime() + m * 60_000);

describe('a return time set now (departure and running late)', () => {
  it('is 4 hours at most: the longest the register lets a worker out go between deadlines', () => {
    expect(MAX_RETURN_AHEAD_MINUTES).toBe(240);
    expect(returnTimeProblem(ahead(1), now)).toBeNull();
    expect(returnTimeProblem(ahead(240), now)).toBeNull();
    expect(returnTimeProblem(ahead(240.5), now)).toMatch(/15:05 is too far ahead/);
  });

  it('is in the future, and the refusal names what is allowed (with the date when it is not today)', () => {
    expect(returnTimeProblem(now, now)).toBe(
      '11:05 is not in the future: expected a time after 11:05 and no later than 15:05 (London time, at most 4 hours from now; set a new one when running late)',
    );
    // What the phone page used to send for "11:00" picked at 11:05: 11:00 tomorrow.
    expect(returnTimeProblem(new Date('2026-11-24T11:00:00Z'), now)).toMatch(
      /^11:00 on 2026-11-24 is too far ahead: expected a time after 11:05 and no later than 15:05/,
    );
    // Late in the evening the latest allowed time is after midnight: its date is named.
    const late = new Date('2026-11-23T22:30:00Z');
    expect(returnTimeProblem(new Date('2026-11-24T03:00:00Z'), late)).toMatch(
      /no later than 02:30 on 2026-11-24/,
    );
    expect(returnTimeProblem(new Date('2026-11-24T01:00:00Z'), late)).toBeNull();
    // Summer time: London wall-clock times.
    const summer = new Date('2026-06-01T09:00:00Z'); // 10:00 BST
    expect(returnTimeProblem(new Date('2026-06-01T08:00:00Z'), summer)).toMatch(
      /^09:00 is not in the future: expected a time after 10:00 and no later than 14:00/,
    );
    expect(returnTimeProblem(new Date(Number.NaN), now)).toMatch(/^expected a time after 11:05/);
  });
});
