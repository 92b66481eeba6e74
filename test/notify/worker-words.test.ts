import { describe, expect, it } from 'vitest';
import type { Notification } from '../../src/notify/channel.ts';
import { alarmMessage, alarmSubject } from '../../src/notify/message.ts';

/** The register's alarms text (or e-mail) the worker themselves: their words, never the office's. */
const toWorker: Notification = {
  id: '42',
  alarmId: '7',
  schoolId: 'alpha',
  step: 0,
  target: 'sms:visiting-staff',
  alarmType: 'missed_check_in',
  deviceId: null,
  staffId: 'staff-17',
  visitId: '9',
  prompt: 'Check-in missed: call the visiting staff',
  officeLine: { phone: '01632 960123', label: 'Call the office' },
};

describe('what the worker is told when the ladder texts them', () => {
  it('a missed check-in: check in on the phone page or call the office, with its number — no board, no office prompt', () => {
    const words = alarmMessage(toWorker);
    expect(words).toBe(
      'Doorstep: you missed a check-in. Check in on your phone page now or call the office: 01632 960123. In danger: 999.',
    );
    expect(words).not.toMatch(/board|call the visiting staff|Acknowledge/i);
    expect(alarmSubject(toWorker)).toBe('Doorstep: you missed a check-in');
    expect(alarmMessage({ ...toWorker, target: 'email:visiting-staff' })).toBe(words);
  });

  it('a silent fob, out of hours: the on-call number the phone page offers then', () => {
    const silent = {
      ...toWorker,
      alarmType: 'device_silent',
      officeLine: { phone: '07700 900123', label: 'Call the on-call number' },
    };
    expect(alarmMessage(silent)).toBe(
      'Doorstep: your fob has gone silent. Check it is on and charged, and check in on your phone page now or call the on-call number: 07700 900123. In danger: 999.',
    );
  });

  it('no number known: phone the school; the office still gets its own words', () => {
    expect(alarmMessage({ ...toWorker, officeLine: null })).toBe(
      'Doorstep: you missed a check-in. Check in on your phone page now or phone the school. In danger: 999.',
    );
    const office = { ...toWorker, target: 'sms:on-call-leaders' };
    expect(alarmMessage(office)).toMatch(
      /^DOORSTEP ALARM #7: MISSED CHECK IN .*Acknowledge on the Doorstep board\.$/,
    );
    expect(alarmSubject(office)).toBe('Doorstep alarm #7: missed check in');
  });
});
