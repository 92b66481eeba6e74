import { describe, expect, it } from 'vitest';
import { arrivedLate } from '../../src/domain/fob/arrived-late.ts';

describe('an alarm that reached Doorstep late, for the card', () => {
  const pressed = new Date('2026-11-23T10:02:00Z');
  it('given from a minute after the press; never for network delay', () => {
    expect(arrivedLate(pressed, new Date('2026-11-23T10:09:00Z'))?.toISOString()).toBe(
      '2026-11-23T10:09:00.000Z',
    );
    expect(arrivedLate(pressed, new Date('2026-11-23T10:03:00Z'))?.toISOString()).toBe(
      '2026-11-23T10:03:00.000Z',
    );
    expect(arrivedLate(pressed, new Date('2026-11-23T10:02:59Z'))).toBeNull();
    expect(arrivedLate(pressed, new Date('2026-11-23T10:01:00Z'))).toBeNull();
    expect(arrivedLate(pressed, new Date('nonsense'))).toBeNull();
    expect(arrivedLate(pressed, null)).toBeNull();
  });
});
