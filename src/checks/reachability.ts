import type { SchoolConfig } from '../config/schema.ts';
import { escalationRouting } from '../config/sections/escalation-hours.ts';
import {
  type EscalationPolicy,
  laddersOf,
  policyFor,
  SHARED_CHANNELS,
  sharedOnUnseen,
  UNSEEN_KINDS,
} from '../domain/escalation/ladder.ts';
import { LADDER_PERIODS, laddersIn } from '../domain/escalation/routing.ts';
import { phoneKey } from '../domain/phone-key.ts';
import { emailOf, phoneOf } from '../notify/alarm-recipients.ts';
import { VISITING_STAFF } from '../notify/channel.ts';
import { groupPhones, smsStatusUrl } from '../notify/http-channels.ts';
import { OFFICE_STAFF } from '../notify/push-channel.ts';
import { noticeTargetGaps } from './notice-reach.ts';
import { outOfHoursFirstPerson } from './out-of-hours-reach.ts';
import type { ReachabilityProblem } from './reachability-problem.ts';
import { groupMissing, targetReach } from './target-reach.ts';

export type { ReachabilityProblem } from './reachability-problem.ts';

/**
 * The problems that leave an alarm with no person told — a level that will fail, a ladder that only
 * ever shows on the board, a repeating level nobody outside the office hears: warnings, since an
 * office nobody is in then watches a worker in danger alone. The rest (some people in a group
 * unreachable, no delivery reports) are notes.
 */
export function isWarning(kind: ReachabilityProblem['kind']): boolean {
  return (
    kind === 'reaches-no-one' ||
    kind === 'no-person' ||
    kind === 'repeats-board-only' ||
    kind === 'seen-by-wearer' ||
    kind === 'late-first-person'
  );
}

/** What the store says of a school's reach, when it can be read (`pushOptedIn`). */
export interface ReachFacts {
  /**
   * How many opted-in browsers each `push:` group of the school's ladders reaches (its key is the
   * group). Without it (or a group not in it), who opted in is not judged. With `about`, counted
   * without the browsers of those accounts (`pushOptedIn(db, school, about.userIds)`).
   */
  pushOptedIn?: ReadonlyMap<string, number>;
  /**
   * For one visit: the people its alarms are about (the lead and the partner — their accounts, phones
   * and e-mail addresses — and the number it left with), whom no alarm message goes to
   * (`notAboutThem`). A group whose only people with a phone (or an e-mail address) are they reaches
   * no one for that visit. Without it (a school's config judged alone), no one is left out.
   */
  about?: VisitSubjects;
}

/** The people a visit's alarms are about, as `alarmSubjects` finds them for an alarm. */
export interface VisitSubjects {
  userIds: readonly string[];
  phones: readonly string[];
  emails: readonly string[];
}

/**
 * Whether one ladder target of a school (`sms:on-call-leaders`) reaches a person: not the board, not
 * the people on the visit (the ones not heard from), its channel configured and, where it goes to a
 * contacts group, someone in it with what the channel needs (a phone, an e-mail address; for a push,
 * an account found by either that turned alarms on, when `facts` says) — for a visit (`facts.about`),
 * someone other than the people on it, whom no alarm message goes to. A chat room or a webhook
 * counts as people. The one test of a person told: `ladderReachability` warns of a ladder none of
 * whose levels passes it, and the phone page never says "the office knows" of a first level none of
 * whose targets does (src/visits/watch-reach.ts).
 */
export function reachesAPerson(s: SchoolConfig, target: string, facts: ReachFacts = {}): boolean {
  const [channel, group] = target.split(':') as [string, string | undefined];
  if (channel === 'board' || group === VISITING_STAFF) return false;
  if (targetReach(s, target).reaches === 'no-one') return false;
  if (channel === 'push' && group) {
    if (facts.pushOptedIn?.get(group) === 0) return false;
    if (group === OFFICE_STAFF) return true;
    return !groupMissing(s, group) && s.contacts[group]!.some((p) => p.phone || p.email);
  }
  const about = facts.about;
  if (about && group && !groupMissing(s, group)) {
    // As the channels leave them out when they send (`notAboutThem`): the group's phones read as the
    // SMS and call channels read them, its e-mail addresses as the e-mail channel does.
    const people = s.contacts[group]!;
    if (channel === 'sms' || channel === 'call') {
      const phones = new Set(about.phones.map(phoneKey));
      return groupPhones(people.flatMap((p) => (p.phone ? [p.phone] : []))).some(
        (p) => !phoneOf(p, { phones }),
      );
    }
    if (channel === 'email') {
      const emails = new Set(about.emails.map((e) => e.trim().toLowerCase()));
      return people.some((p) => p.email && !emailOf(p.email, { emails }));
    }
  }
  return true;
}

/** The ladders that differ by time, in the order they are judged. */
const TIME_VARIANTS = ['outOfHours', 'weekend', 'holiday'] as const;

/**
 * Every ladder level of a school whose targets cannot reach anyone: a channel that is not
 * configured, a contacts group that is missing or empty, an SMS group with no phone numbers or an
 * e-mail group with no addresses; the people in a group with no route for that step (named as in the
 * config); every ladder none of whose levels reaches a person (the board only); and an SMS channel
 * that asks for no delivery reports (an undelivered text then waits for the next level). A call step
 * needs phones as an SMS step does; a push step reaches the accounts that turned on alarms on a device,
 * counted from the store when `facts` gives them (none: warned).
 * `visiting-staff` is the people on the visit, from their accounts: not judged here (a call or push
 * to them is refused with the config). The ladders
 * that differ by time (`escalationHours`: out of hours, weekends, holidays) are judged like the rest.
 */
export function ladderReachability(
  s: SchoolConfig,
  /**
   * From the store, when it can be read: how many opted-in browsers each `push:` group of the
   * school's ladders reaches (its key is the group). Without it, who opted in is not judged.
   */
  facts: ReachFacts = {},
): ReachabilityProblem[] {
  const out: ReachabilityProblem[] = [];
  // Visits raise overdue and missed check-in alarms whether or not a school configures their ladders.
  const ladders = laddersOf(s.escalation, { deviceSilent: s.fobs.silentAlarmMinutes !== undefined });
  const all = [
    ...Object.entries(ladders).map(([ladder, policy]) => ({ ladder, path: `escalation.${ladder}`, policy })),
    ...TIME_VARIANTS.flatMap((period) =>
      Object.entries(s.escalationHours?.[period] ?? {}).map(([kind, policy]) => ({
        ladder: `${period}.${kind}`,
        path: `escalationHours.${period}.${kind}`,
        policy,
      })),
    ),
  ];
  let usesSms = false;
  for (const { ladder, path, policy } of all) {
    let person = false;
    let worker = false;
    policy.levels.forEach((level, i) => {
      const where = `${path} level ${i + 1}`;
      for (const target of new Set(level.notify)) {
        const [channel, group] = target.split(':') as [string, string | undefined];
        if (channel === 'board') continue;
        if (reachesAPerson(s, target, facts)) person = true;
        const problem = (kind: ReachabilityProblem['kind'], message: string) =>
          out.push({
            ladder,
            level: i + 1,
            target,
            kind,
            message: `${where} notifies ${target}, but ${message}`,
          });
        if (channel === 'sms' && s.channels.sms) usesSms = true;
        const reach = targetReach(s, target);
        if (reach.reaches === 'no-one') {
          problem('reaches-no-one', `${reach.why}: it reaches no one`);
          continue;
        }
        if (group === VISITING_STAFF) {
          // The register's text and e-mail to the people on the visit (a call or push to them is
          // refused when the config is read: src/domain/escalation/ladder.ts). A fob's own missed
          // check-in follows this ladder too, and is never sent to its wearer.
          if (ladder.endsWith('missed-check-in') && s.fobs.devices.length > 0)
            problem(
              'some-unreachable',
              `for a fob's own missed check-in it reaches no one (a device alarm never goes to the wearer): that step passes to the next level at once`,
            );
          // Not a person told for the visit: the people on it are the ones not heard from (an
          // overdue worker texted to call in tells no one else that they are missing).
          worker = true;
          continue;
        }
        if (channel === 'push' && group) {
          // The accounts that turned on alarms on a device: every office one, or a group's people
          // (found by the phone or e-mail of their account); counted only when the store was read.
          const optedIn = facts.pushOptedIn?.get(group);
          const none = `turned on alarms on a device (the board's button): it reaches no one`;
          if (group === OFFICE_STAFF) {
            if (optedIn === 0)
              problem('reaches-no-one', `no office or safeguarding account of the school has ${none}`);
            continue;
          }
          const missing = groupMissing(s, group);
          if (missing) problem('reaches-no-one', `${missing}: it reaches no one`);
          else if (s.contacts[group]!.every((p) => !p.phone && !p.email))
            problem(
              'reaches-no-one',
              `no one in contacts.${group} has a phone number or an e-mail address to find their account by: it reaches no one`,
            );
          else if (optedIn === 0) problem('reaches-no-one', `no one in contacts.${group} has ${none}`);
          continue;
        }
        // A chat room or a webhook (people behind it, not ours to count), or a group with some reached.
        if (reach.reaches === 'people' && reach.without.length > 0) {
          const { without, field } = reach;
          problem(
            'some-unreachable',
            `${without.map((p) => p.name).join(', ')} in contacts.${group} ${without.length === 1 ? 'has' : 'have'} no ${field === 'phone' ? 'phone number' : 'e-mail address'}`,
          );
        }
      }
    });
    if (!person)
      out.push({
        ladder,
        level: null,
        target: null,
        kind: 'no-person',
        message: `${path} reaches no person on any level, only the board${worker ? ' (and a text to the people on the visit, the ones not heard from)' : ''}`,
      });
    // The last level repeats at its interval until a person responds: board-only, no one outside the
    // board is told again once the ladder's rounds are spent — an office nobody is in stays silent.
    else if (policy.levels.at(-1)?.notify.every((t) => t === 'board'))
      out.push({
        ladder,
        level: policy.levels.length,
        target: null,
        kind: 'repeats-board-only',
        message: `${path} level ${policy.levels.length} repeats until the alarm is resolved but notifies only the board: once its rounds are spent no person is told again — add a group that carries a phone (e.g. sms:on-call-leaders)`,
      });
  }
  out.push(...sharedForUnseen(s), ...outOfHoursFirstPerson(s));
  if (usesSms && s.channels.sms && !smsStatusUrl(s.channels.sms))
    out.push({
      ladder: '',
      level: null,
      target: null,
      kind: 'no-reports',
      message:
        'channels.sms has no statusUrl (or inboundUrl): no delivery reports, so an undelivered text waits for the next level',
    });
  // Every alarm text asks for a reply ("Reply 1 {code} to take this alarm"); the provider signs its
  // post of the reply with the URL it was given. Without inboundUrl, the URL this server sees is used:
  // behind a TLS proxy (http, another host) no reply verifies, and the person who replied believes
  // they took the alarm while it climbs on.
  if (usesSms && s.channels.sms && !s.channels.sms.inboundUrl)
    out.push({
      ladder: '',
      level: null,
      target: null,
      kind: 'replies-unverifiable',
      message:
        'channels.sms has no inboundUrl: alarm texts ask for a reply, which verifies only if this server sees the very URL the provider posts to — behind a TLS proxy set inboundUrl (the public https URL of /hooks/sms/<school>) or a reply is refused and the alarm is not taken',
    });
  return out;
}

/**
 * Duress and silent alarms that would be posted to Teams, Google Chat or a webhook: a `duress` or
 * `silent` ladder naming one is refused when the config is read; a school that gives them none has
 * them follow its `alarm` ladder (in each period, `escalationHours` included), which may post there.
 * Warned, naming the ladder and level they follow and what to add.
 */
function sharedForUnseen(s: SchoolConfig): ReachabilityProblem[] {
  const routing = escalationRouting(s.escalation, s.escalationHours);
  const named = new Map<EscalationPolicy, string>();
  for (const [kind, p] of Object.entries(s.escalation)) named.set(p, `escalation.${kind}`);
  for (const period of TIME_VARIANTS)
    for (const [kind, p] of Object.entries(s.escalationHours?.[period] ?? {}))
      named.set(p, `escalationHours.${period}.${kind}`);
  const out: ReachabilityProblem[] = [];
  for (const kind of UNSEEN_KINDS) {
    const seen = new Set<EscalationPolicy>();
    for (const period of s.escalationHours ? LADDER_PERIODS : (['school-hours'] as const)) {
      const ladder = policyFor(laddersIn(routing, period), kind, 'fob');
      const path = named.get(ladder);
      if (seen.has(ladder) || !path) continue;
      seen.add(ladder);
      ladder.levels.forEach((level, i) => {
        for (const target of level.notify)
          if (SHARED_CHANNELS.includes(target.split(':')[0]!))
            out.push({
              ladder: kind,
              level: i + 1,
              target,
              kind: 'seen-by-wearer',
              message: `${sharedOnUnseen(kind, `${path} level ${i + 1} (which ${kind} alarms follow: no ${kind} ladder of their own)`, target)} — give escalation.${kind} a ladder of its own (and each escalationHours period one) without teams, google-chat or webhook`,
            });
      });
    }
  }
  return out;
}

const NOTICE_WORDS = {
  childNotSeen: 'a child not seen on a visit',
  planned: 'each visit planned (its date and time, before it leaves)',
  cancelled: 'a cancelled visit',
  changed: 'a change to a visit',
  concern: 'a concern about the child',
  incident: 'an incident of aggression, violence or threat on a visit',
  arrived: 'the worker arriving safely at the address',
  outcomeMissing: 'a visit back without its outcome',
  visitRecord: 'each visit record (as it leaves) and its confirmation of return',
} as const;

/**
 * The people a school's policy says hear of something (its packs' `notices`) whom its config does not
 * reach yet: one line per kind, naming the policy's words, the people and the setting to fill in;
 * then each `notices` target that reaches no one (src/checks/notice-reach.ts).
 */
export function noticeGaps(
  s: SchoolConfig,
  packs: ReadonlyMap<string, { title: string; notices?: PolicyNotices | undefined }>,
): string[] {
  const out: string[] = [];
  for (const name of s.policies) {
    const pack = packs.get(name);
    for (const [kind, n] of Object.entries(pack?.notices ?? {}) as [
      keyof typeof NOTICE_WORDS,
      PolicyNotice,
    ][]) {
      const set =
        kind === 'outcomeMissing'
          ? (s.notices.outcomeMissing?.escalateTo.length ?? 0) +
            (s.notices.outcomeMissing?.visitors.length ?? 0)
          : s.notices[kind].length;
      if (set === 0)
        out.push(
          `${pack!.title} (${n.source}): ${n.who.join(' and ')} hear of ${NOTICE_WORDS[kind]}, but notices.${kind} names no one to tell`,
        );
    }
  }
  return [...out, ...noticeTargetGaps(s)];
}

interface PolicyNotice {
  who: string[];
  source: string;
}
type PolicyNotices = Partial<Record<keyof typeof NOTICE_WORDS, PolicyNotice>>;
