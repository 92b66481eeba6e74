import type { SchoolConfig } from '../config/schema.ts';
import { FAMILY, VISITING_STAFF } from '../notify/channel.ts';

const ADDRESS = { sms: 'phone', email: 'email' } as const;

/**
 * Each `notices` target of a school that reaches no one: its channel is not configured, or its
 * contacts group is missing (a typo: `dsl` for `dsls`), empty, or holds no phone number (a text) or
 * e-mail address (an e-mail). Such a notice fails when it is sent — a child not seen, a concern —
 * and no one hears of it. `visiting-staff` and `family` are found with the visit, not in the config.
 */
export function noticeTargetGaps(s: SchoolConfig): string[] {
  const { outcomeMissing, familySms: _words, ...lists } = s.notices;
  const settings: [string, readonly string[]][] = [
    ...Object.entries(lists).map(([kind, targets]) => [`notices.${kind}`, targets] as [string, string[]]),
    ...(outcomeMissing
      ? ([
          ['notices.outcomeMissing.visitors', outcomeMissing.visitors],
          ['notices.outcomeMissing.escalateTo', outcomeMissing.escalateTo],
        ] as [string, string[]][])
      : []),
  ];
  const out: string[] = [];
  for (const [path, targets] of settings)
    for (const target of new Set(targets)) {
      const problem = targetProblem(s, target);
      if (problem) out.push(`${path} notifies ${target}, but ${problem}: no one hears of it`);
    }
  return out;
}

function targetProblem(s: SchoolConfig, target: string): string | undefined {
  const [channel, group] = target.split(':') as [string, string | undefined];
  if (s.channels[channel as keyof typeof s.channels] === undefined)
    return `channels.${channel} is not configured`;
  const field = ADDRESS[channel as keyof typeof ADDRESS];
  if (!field || !group || group === VISITING_STAFF || group === FAMILY) return undefined;
  if (!Object.hasOwn(s.contacts, group)) {
    const known = Object.keys(s.contacts);
    return `there is no contacts.${group}${known.length ? ` (the groups are ${known.join(', ')})` : ''}`;
  }
  const people = s.contacts[group]!;
  if (people.length === 0) return `contacts.${group} is empty`;
  if (people.every((p) => !p[field]))
    return `no one in contacts.${group} has ${field === 'phone' ? 'a phone number' : 'an e-mail address'}`;
  return undefined;
}
