import { describe, expect, it } from 'vitest';
import { type RaisedAlarm, rememberRaised, takeRaised } from '../../src/alarms/recent-raises.ts';

const alarm = (id: string): RaisedAlarm => ({
  id,
  schoolId: 'alpha',
  type: 'sos',
  deviceId: 'fob-1',
  staffId: 's1',
  visitId: null,
  policy: { levels: [{ afterMinutes: 0, notify: ['board'] }] } as never,
  raisedAt: new Date('2026-11-30T09:00:00Z'),
  test: false,
});

describe('alarms remembered for their first step', () => {
  it('are given out once', () => {
    rememberRaised(alarm('rr-1'));
    expect(takeRaised('rr-1')?.type).toBe('sos');
    expect(takeRaised('rr-1')).toBeUndefined();
  });

  it('are bounded: the older half is forgotten whole (at least the last 5,000 kept, never more than 10,000), and a forgotten alarm is simply read back', () => {
    for (let i = 0; i < 10_001; i++) rememberRaised(alarm(`rb-${i}`));
    expect(takeRaised('rb-0')).toBeUndefined();
    expect(takeRaised('rb-4999')).toBeUndefined();
    expect(takeRaised('rb-5000')?.id).toBe('rb-5000');
    expect(takeRaised('rb-9999')?.id).toBe('rb-9999');
    expect(takeRaised('rb-10000')?.id).toBe('rb-10000');
    expect(takeRaised('rb-10000')).toBeUndefined();
  });
});
