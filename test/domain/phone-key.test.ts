import { describe, expect, it } from 'vitest';
import { phoneKey } from '../../src/domain/phone-key.ts';

describe('phoneKey', () => {
  it('reads one UK mobile however it was typed as one key', () => {
    for (const typed of [
      '+447700900123',
      '+44 7700 900123',
      '07700 900123',
      '07700-900-123',
      '0044 7700 900123',
      '(07700) 900.123',
    ])
      expect(phoneKey(typed), typed).toBe('+447700900123');
  });
  it('keeps other countries and other numbers apart', () => {
    expect(phoneKey('+33 6 12 34 56 78')).toBe('+33612345678');
    expect(phoneKey('07700 900124')).not.toBe(phoneKey('07700 900123'));
  });
});
