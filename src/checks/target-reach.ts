import type { SchoolConfig } from '../config/schema.ts';
import { VISITING_STAFF } from '../notify/channel.ts';

/** The contact field a channel reaches a person by. */
const ADDRESS = { sms: 'phone', call: 'phone', email: 'email' } as const;

type Person = SchoolConfig['contacts'][string][number];

/**
 * What one `channel:group` target of a school reaches, judged from its config — the one judgement
 * of the ladders (src/checks/reachability.ts) and the notices (src/checks/notice-reach.ts), each
 * saying it in its own sentence:
 * - `no-one`: its channel is not configured, its contacts group is missing (a typo: `dsl` for
 *   `dsls`) or empty, or no one in it has a phone number (a text or call) or an e-mail address (an
 *   e-mail) — `why` says which;
 * - `people`: some of its group can be reached; `without` are those who cannot (named in the config);
 * - `not-counted`: people the config does not list — a chat room, a webhook, a push (its accounts
 *   are counted from the store), `visiting-staff` (found with the visit).
 */
export type TargetReach =
  | { reaches: 'no-one'; why: string }
  | { reaches: 'people'; without: readonly Person[]; field: 'phone' | 'email' }
  | { reaches: 'not-counted' };

export function targetReach(s: SchoolConfig, target: string): TargetReach {
  const [channel, group] = target.split(':') as [string, string | undefined];
  if (s.channels[channel as keyof typeof s.channels] === undefined)
    return { reaches: 'no-one', why: `channels.${channel} is not configured` };
  const field = ADDRESS[channel as keyof typeof ADDRESS];
  if (!field || !group || group === VISITING_STAFF) return { reaches: 'not-counted' };
  const missing = groupMissing(s, group);
  if (missing) return { reaches: 'no-one', why: missing };
  const people = s.contacts[group]!;
  const without = people.filter((p) => !p[field]);
  if (without.length === people.length)
    return {
      reaches: 'no-one',
      why: `no one in contacts.${group} has ${field === 'phone' ? 'a phone number' : 'an e-mail address'}`,
    };
  return { reaches: 'people', without, field };
}

/** Why a contacts group names no one (it is not in the config, or empty); undefined when it has people. */
export function groupMissing(s: SchoolConfig, group: string): string | undefined {
  if (!Object.hasOwn(s.contacts, group)) {
    const known = Object.keys(s.contacts);
    return `there is no contacts.${group}${known.length ? ` (the groups are ${known.join(', ')})` : ''}`;
  }
  return s.contacts[group]!.length === 0 ? `contacts.${group} is empty` : undefined;
}
