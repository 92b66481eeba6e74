import type { Notification } from './channel.ts';

/** The words every channel sends: what, who, which alarm, what to do. Short enough for one SMS. */
export function alarmMessage(n: Notification): string {
  const who = n.staffId ? `staff ${n.staffId}` : `an UNKNOWN device ${n.deviceId}`;
  return `DOORSTEP ALARM #${n.alarmId}: ${n.alarmType.replace(/_/g, ' ').toUpperCase()} from ${who} (device ${n.deviceId}), escalation level ${n.step + 1}. Acknowledge on the Doorstep board.`;
}
