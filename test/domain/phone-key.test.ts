import { describe, expect, it } from 'vitest';
import { e164, phoneKey } from '../../src/domain/phone-key.ts';

describe('phoneKey', () => {
  it('reads one UK mobile however it was typed as one key', () => {
    for (const typed of [
      '+447700900123',
      '+44 7700 900123',
      '07700 900123',
      '07700-900-123',
      '0044 7700 900123',
      '(07700) 900.123',
      '+44 (0)7700 900123',
    ])
      expect(phoneKey(typed), typed).toBe('+447700900123');
  });
  it('keeps other countries and other numbers apart', () => {
    expect(phoneKey('+33 6 12 34 56 78')).toBe('+33612345678');
    expect(phoneKey('07700 900124')).not.toBe(phoneKey('07700 900123'));
  });
});

describe('e164', () => {
  it('is the number as the SMS and call providers take it, or null for what cannot be dialled', () => {
    expect(e164(' 07700 900123 ')).toBe('+447700900123');
    expect(e164('+44 (0)7700 900123')).toBe('+447700900123');
    expect(e164('01632 960123')).toBe('+441632960123');
    for (const typed of ['call me', '', '+44 07700 900123', '12345', '+0123456789'])
      expect(e164(typed), typed).toBeNull();
  });
});
