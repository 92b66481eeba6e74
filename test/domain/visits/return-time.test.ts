import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_RETURN_AHEAD_MINUTES,
  returnTimeProblem,
  runningLateProblem,
} from '../../../src/domain/visits/return-time.ts';

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

/**
 * Found by review: the 4-hour bound counted from each new time, so a worker could push their return
 * on from their phone, 4 hours at a time, for ever — no alarm, and (in most packs) nobody told. The
 * worker's own new time goes no further than 4 hours after someone else last confirmed them.
 */
describe('running late: a new return time set by the worker themselves', () => {
  const left = new Date('2026-11-23T10:00:00Z');
  const self = (confirmedAt: Date, office: string | null = '01632 960123') => ({ confirmedAt, office });

  it('is at most 4 hours after the last time someone else confirmed them; past it, they call the office', () => {
    expect(runningLateProblem(new Date('2026-11-23T14:00:00Z'), now, self(left))).toBeNull();
    expect(runningLateProblem(new Date('2026-11-23T14:01:00Z'), now, self(left))).toBe(
      '14:01 is more than 4 hours after 10:00, when someone other than you last confirmed you safe (leaving, or the office): set one no later than 14:00, or call the office on 01632 960123: they set your new return time after speaking to you',
    );
    // Out 4 hours since then: nothing the worker sets is allowed; the office (no number given: no number said).
    const at = new Date('2026-11-23T14:10:00Z');
    expect(runningLateProblem(new Date('2026-11-23T14:30:00Z'), at, self(left, null))).toBe(
      'you have been out more than 4 hours since 10:00, when someone other than you last confirmed you safe (leaving, or the office): call the office: they set your new return time after speaking to you',
    );
    // The office confirmed them at 13:50: 4 hours from then.
    expect(
      runningLateProblem(new Date('2026-11-23T17:50:00Z'), at, self(new Date('2026-11-23T13:50:00Z'))),
    ).toBeNull();
    // The office's own new time: 4 hours from now, whatever came before.
    expect(runningLateProblem(new Date('2026-11-23T18:10:00Z'), at, null)).toBeNull();
    // The bound from now still holds first, for either.
    expect(runningLateProblem(now, now, self(left))).toMatch(/is not in the future/);
    expect(runningLateProblem(ahead(241), now, null)).toMatch(/too far ahead/);
  });

  it('is allowed exactly within both bounds (the office: within the one from now)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 * 60 }),
        fc.integer({ min: 0, max: 12 * 60 }),
        fc.integer({ min: -60, max: 6 * 60 }),
        fc.boolean(),
        (confirmedAgo, nowAfter, setAhead, bySelf) => {
          const t = new Date(left.getTime() + nowAfter * 60_000);
          const confirmedAt = new Date(t.getTime() - confirmedAgo * 60_000);
          const at = new Date(t.getTime() + setAhead * 60_000);
          const problem = runningLateProblem(at, t, bySelf ? self(confirmedAt) : null);
          const fromNow = setAhead > 0 && setAhead <= MAX_RETURN_AHEAD_MINUTES;
          const fromConfirmed = setAhead + confirmedAgo <= MAX_RETURN_AHEAD_MINUTES;
          expect(problem === null, `${problem}`).toBe(fromNow && (!bySelf || fromConfirmed));
          if (fromNow && bySelf && !fromConfirmed) expect(problem).toMatch(/call the office on 01632 960123/);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
