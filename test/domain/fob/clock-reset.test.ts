import { describe, expect, it } from 'vitest';
import { CLOCK_RESET_MS, clockReset } from '../../../src/domain/fob/trust.ts';

describe('a fob clock that reset', () => {
  it('is one a month or more out either way; an alarm merely hours late or a clock minutes fast is not', () => {
    const day = 24 * 60 * 60_000;
    expect(clockReset({ clockSkewMs: -26 * 365 * day })).toBe(true); // reset to 2000
    expect(clockReset({ clockSkewMs: CLOCK_RESET_MS + day })).toBe(true); // stuck far ahead
    expect(clockReset({ clockSkewMs: -2 * 60 * 60_000 })).toBe(false); // held by a fob out of signal
    expect(clockReset({ clockSkewMs: 10 * 60_000 })).toBe(false);
    expect(clockReset({ clockSkewMs: null })).toBe(false);
  });
});
