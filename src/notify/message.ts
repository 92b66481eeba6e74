import type { Notification } from './channel.ts';

/** The words every channel sends: what, who, which alarm, what to do. Short enough for one SMS. */
export function alarmMessage(n: Notification): string {
  if (n.notice) return `DOORSTEP: ${n.notice.text}`;
  // A fob drill runs the real ladder: the first word says it is one.
  if (n.test) return `TEST (a drill, no one is in danger): ${alarmWords(n)}`;
  return alarmWords(n);
}

function alarmWords(n: Notification): string {
  const what = n.alarmType.replace(/_/g, ' ').toUpperCase();
  const prompt = n.prompt ? ` ${n.prompt}.` : '';
  if (!n.deviceId)
    return `DOORSTEP ALARM #${n.alarmId}: ${what} (visit ${n.visitId ?? '?'}${n.staffName ? `, ${n.staffName}` : n.staffId ? `, staff ${n.staffId}` : ''}), escalation level ${n.step + 1}.${prompt} Acknowledge on the Doorstep board.`;
  const staff = n.staffName ? `${n.staffName} (staff ${n.staffId})` : `staff ${n.staffId}`;
  const who = n.staffId ? staff : `an UNKNOWN device ${n.deviceId}`;
  return `DOORSTEP ALARM #${n.alarmId}: ${what} from ${who} (device ${n.deviceId}), escalation level ${n.step + 1}.${prompt} Acknowledge on the Doorstep board.`;
}
