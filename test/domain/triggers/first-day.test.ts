import { describe, expect, it } from 'vitest';
import { firstDayOf } from '../../../src/domain/triggers/finding.ts';

describe('the first day a trigger counted', () => {
  it('is where its run, sessions or pattern begin, not the day it was raised', () => {
    expect(firstDayOf({ from: '2026-11-23', to: '2026-11-27', days: [] })).toBe('2026-11-23');
    expect(firstDayOf({ sessions: [{ date: '2026-11-02', session: 'AM', code: 'N' }], count: 1 })).toBe(
      '2026-11-02',
    );
    expect(firstDayOf({ days: [{ date: '2026-10-05', am: 'O', pm: 'O' }] })).toBe('2026-10-05');
  });

  it('is none for a rate over a window, and for evidence without a date', () => {
    expect(firstDayOf({ from: '2026-09-03', to: '2026-11-27', possible: 100, attended: 85 })).toBeNull();
    expect(firstDayOf({})).toBeNull();
    expect(firstDayOf(null)).toBeNull();
    expect(firstDayOf({ from: 'not a date' })).toBeNull();
  });
});
