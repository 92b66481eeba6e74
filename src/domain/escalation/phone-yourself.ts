import { phoneKey } from '../phone-key.ts';

export interface PersonToPhone {
  name: string;
  phone: string;
}

/**
 * Whom the office phones itself when every message about an alarm failed (the board's "no one else
 * knows"): the people with a phone in the contacts groups the alarm's notifications went to
 * (`sms:on-call-leaders`, `call:senior-leadership`, `push:…`, `email:…` — whatever the channel, the
 * group's people), once each, in the order the ladder told them, and never a person the alarm is
 * about (`about`: the wearer's or the visit's phones — a phone ringing on someone in duress can give
 * them away). The board's own entry and groups with no one with a phone give none. Pure.
 */
export function peopleToPhone(
  targets: readonly string[],
  contacts: Readonly<
    Record<string, readonly { name: string; phone?: string | undefined; email?: string | undefined }[]>
  >,
  about: readonly (string | null | undefined)[],
  /** The e-mail addresses of the people it is about: a contact entry with one is them, whatever its phone. */
  aboutEmails: readonly string[] = [],
): PersonToPhone[] {
  const seen = new Set(about.flatMap((p) => (p ? [phoneKey(p)] : [])));
  const emails = new Set(aboutEmails.map((e) => e.trim().toLowerCase()));
  const out: PersonToPhone[] = [];
  for (const target of targets) {
    const group = target.split(':')[1];
    if (!group || !Object.hasOwn(contacts, group)) continue;
    for (const person of contacts[group] ?? []) {
      if (!person.phone || seen.has(phoneKey(person.phone))) continue;
      if (person.email && emails.has(person.email.trim().toLowerCase())) continue;
      seen.add(phoneKey(person.phone));
      out.push({ name: person.name, phone: person.phone });
    }
  }
  return out;
}

/**
 * The contacts groups the alarm's messages went to (or its stalled next step names) that give the
 * office no one to phone: a group missing from the config, empty, or with no one in it with a phone
 * number — once each, in ladder order. The board then says so (no contacts with a phone are
 * configured for them) rather than pointing at a list it cannot show. `notGroups`: targets whose
 * group is not a contacts group (the people on the visit, the office's own accounts). Pure.
 */
export function groupsWithNoOneToPhone(
  targets: readonly string[],
  contacts: Readonly<Record<string, readonly { name: string; phone?: string | undefined }[]>>,
  notGroups: readonly string[] = [],
): string[] {
  const out: string[] = [];
  for (const target of targets) {
    const group = target.split(':')[1];
    if (!group || notGroups.includes(group) || out.includes(group)) continue;
    const people = Object.hasOwn(contacts, group) ? (contacts[group] ?? []) : [];
    if (!people.some((p) => p.phone)) out.push(group);
  }
  return out;
}
