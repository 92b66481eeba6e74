import type { Notification } from '../../src/notify/channel.ts';

/** A notification of an SOS alarm's first level to a text group, with `o` over it. */
export function notification(o: Partial<Notification> = {}): Notification {
  return {
    id: '42',
    alarmId: '7',
    schoolId: 'alpha',
    step: 0,
    target: 'sms:g',
    alarmType: 'sos',
    deviceId: 'D',
    staffId: 's',
    ...o,
  };
}
