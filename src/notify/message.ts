import { type Notification, VISITING_STAFF } from './channel.ts';

/** The words every channel sends: what, who, which alarm, what to do. Short enough for one SMS. */
export function alarmMessage(n: Notification): string {
  if (n.notice) return `DOORSTEP: ${n.notice.text}`;
  const words = toTheWorker(n.target) ? workerWords(n) : alarmWords(n);
  // A fob drill runs the real ladder: the first word says it is one.
  if (n.test) return `TEST (a drill, no one is in danger): ${words}`;
  return words;
}

/**
 * Whether a notification goes to the people on the alarm's visit themselves (`sms:visiting-staff`,
 * `email:visiting-staff`): the register's alarms asking the worker to call in. They are told what
 * to do, never the office's prompt ("call the visiting staff", "acknowledge on the board").
 */
export function toTheWorker(target: string): boolean {
  return target.split(':')[1] === VISITING_STAFF;
}

/** The subject of an e-mail about an alarm: the worker's own words for the worker. */
export function alarmSubject(n: Notification): string {
  if (toTheWorker(n.target)) return `Doorstep: ${WORKER_WHAT[n.alarmType] ?? WORKER_WHAT_OTHER}`;
  return `Doorstep alarm #${n.alarmId}: ${n.alarmType.replace(/_/g, ' ')}`;
}

/** What happened, said to the worker. */
const WORKER_WHAT: Readonly<Record<string, string>> = {
  missed_check_in: 'you missed a check-in',
  device_silent: 'your fob has gone silent',
  overdue_visit: 'your visit is past its expected return',
};
const WORKER_WHAT_OTHER = 'the office needs to hear from you';

/** What the worker can do about it on their phone page. */
const WORKER_DO: Readonly<Record<string, string>> = {
  missed_check_in: 'Check in on your phone page now',
  device_silent: 'Check it is on and charged, and check in on your phone page now',
  overdue_visit: 'Say you are back safe, or running late, on your phone page now',
};
const WORKER_DO_OTHER = 'Check in on your phone page now';

function workerWords(n: Notification): string {
  const line = n.officeLine;
  const call = line
    ? ` or ${line.label.charAt(0).toLowerCase()}${line.label.slice(1)}: ${line.phone}`
    : ' or phone the school';
  return `Doorstep: ${WORKER_WHAT[n.alarmType] ?? WORKER_WHAT_OTHER}. ${WORKER_DO[n.alarmType] ?? WORKER_DO_OTHER}${call}. In danger: 999.`;
}

function alarmWords(n: Notification): string {
  const what = n.alarmType.replace(/_/g, ' ').toUpperCase();
  const prompt = n.prompt ? ` ${n.prompt}.` : '';
  const at = n.orphanSchool ? ` at ${n.orphanSchool}` : '';
  if (!n.deviceId)
    return `DOORSTEP ALARM #${n.alarmId}: ${what} (visit ${n.visitId ?? '?'}${n.staffName ? `, ${n.staffName}` : n.staffId ? `, staff ${n.staffId}` : ''})${at}, escalation level ${n.step + 1}.${prompt} Acknowledge on the Doorstep board.`;
  const staff = n.staffName ? `${n.staffName} (staff ${n.staffId})` : `staff ${n.staffId}`;
  const who = n.staffId ? staff : `an UNKNOWN device ${n.deviceId}`;
  return `DOORSTEP ALARM #${n.alarmId}: ${what} from ${who} (device ${n.deviceId})${at}, escalation level ${n.step + 1}.${prompt} Acknowledge on the Doorstep board.`;
}
