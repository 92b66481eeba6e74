import { ASKS_THE_WORKER } from '../domain/escalation/ladder.ts';
import { phoneKey } from '../domain/phone-key.ts';
import { doorstepError } from '../errors.ts';
import type { Notification } from './channel.ts';

/** The people an alarm is about, as the channels look them up when they send (`alarmSubjects`). */
export type AlarmSubjects = (
  n: Notification,
) => Promise<{ userIds: readonly string[]; phones: readonly string[]; emails?: readonly string[] }>;

/**
 * Who of a group an alarm notification goes to: never the people the alarm is about (its wearer,
 * the people on its visit) — they cannot take their own alarm, and a phone that rings or buzzes on
 * someone in duress can give them away. A notice (not an alarm) goes to everyone; so does an SMS to
 * the `visiting-staff` group (`keepGroup`) for the register's own alarms about a worker not heard
 * from (`ASKS_THE_WORKER`, raised by no device): its text asks the worker themselves.
 * When the group had people but every one is someone the alarm is about, the notification fails
 * for good (CONFIG_INVALID: the alarm moves to its next level at once; never a page to no one).
 */
export async function notAboutThem<T>(
  channel: string,
  n: Notification,
  group: string,
  recipients: readonly T[],
  is: (
    r: T,
    subjects: { userIds: ReadonlySet<string>; phones: ReadonlySet<string>; emails: ReadonlySet<string> },
  ) => boolean,
  subjects: AlarmSubjects,
  keepGroup?: string,
): Promise<T[]> {
  // The register's own reminder asks the worker themselves; any other alarm (a fob's, the phone
  // page's I need help) never goes to them, whatever a ladder names.
  const asksTheWorker = n.deviceId === null && ASKS_THE_WORKER.has(n.alarmType);
  if (
    n.notice ||
    recipients.length === 0 ||
    (keepGroup !== undefined && group === keepGroup && asksTheWorker)
  )
    return [...recipients];
  const s = await subjects(n);
  const about = {
    userIds: new Set(s.userIds),
    phones: new Set(s.phones.map(phoneKey)),
    emails: new Set((s.emails ?? []).map((e) => e.trim().toLowerCase())),
  };
  const left = recipients.filter((r) => !is(r, about));
  if (left.length === 0)
    throw doorstepError(
      'CONFIG_INVALID',
      `${channel}: everyone in contacts group "${group}" is someone the alarm is about`,
    );
  return left;
}

/** `notAboutThem`'s test for a phone number. */
export const phoneOf = (p: string, s: { phones: ReadonlySet<string> }) => s.phones.has(phoneKey(p));

/** `notAboutThem`'s test for an e-mail address. */
export const emailOf = (e: string, s: { emails: ReadonlySet<string> }) =>
  s.emails.has(e.trim().toLowerCase());
