import { describe, expect, it } from 'vitest';
import { DISMISS_REASON_MAX, dismissReasonOf } from '../../src/domain/record-dismissal.ts';

/**
 * A dismissal's reason — where a record that could not be sent was recorded by hand — is required, and
 * is shown on the audit page and in the command's output: it keeps what a reader can see, and nothing
 * that hides, rings, clears the screen or reorders the words after it.
 */
describe('a dismissal reason', () => {
  it('is trimmed, its runs of spaces, tabs and line breaks one space', () => {
    expect(dismissReasonOf('  in CPOMS,\t16\r\nMarch  ')).toEqual({ reason: 'in CPOMS, 16 March' });
  });

  it('made only of invisible characters (zero-width space, soft hyphen, joiners, word joiner) is refused as missing', () => {
    for (const given of ['\u200b', '\u00ad', '\u200d\u200c', '\u2060', ' \ufeff \u200b '])
      expect(dismissReasonOf(given), JSON.stringify(given)).toEqual({ refused: 'missing' });
  });

  it('keeps no control characters (a bell, an escape sequence) nor bidirectional controls', () => {
    expect(dismissReasonOf('in \u0007CPOMS\u001b[2J \u202eevil')).toEqual({ reason: 'in CPOMS[2J evil' });
    expect(dismissReasonOf('in \u2066CPOMS\u2069 \u0007 16\u00adMarch')).toEqual({
      reason: 'in CPOMS 16March',
    });
  });

  it('is counted as kept: too long only when what is left is', () => {
    expect(dismissReasonOf(`${'x'.repeat(DISMISS_REASON_MAX)}\u200b\u200b`)).toEqual({
      reason: 'x'.repeat(DISMISS_REASON_MAX),
    });
    expect(dismissReasonOf('x'.repeat(DISMISS_REASON_MAX + 1))).toEqual({
      refused: 'too-long',
      length: DISMISS_REASON_MAX + 1,
    });
  });
});
