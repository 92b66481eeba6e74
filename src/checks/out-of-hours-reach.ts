import type { SchoolConfig } from '../config/schema.ts';
import { escalationRouting } from '../config/sections/escalation-hours.ts';
import { type EscalationPolicy, laddersOf } from '../domain/escalation/ladder.ts';
import { laddersIn } from '../domain/escalation/routing.ts';
import { VISITING_STAFF } from '../notify/channel.ts';
import type { ReachabilityProblem } from './reachability-problem.ts';

const PERIOD_WORDS = {
  'out-of-hours': 'out of hours',
  weekend: 'at weekends',
  holiday: 'in holidays',
} as const;
const PERIOD_KEY = { 'out-of-hours': 'outOfHours', weekend: 'weekend', holiday: 'holiday' } as const;
type Unwatched = keyof typeof PERIOD_WORDS;

const KIND_WORDS: Readonly<Record<string, string>> = {
  alarm: 'an alarm',
  'overdue-visit': 'an overdue visit',
  'missed-check-in': 'a missed check-in',
  'device-silent': 'a silent fob',
};
const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');
const kindWords = (kind: string) => KIND_WORDS[kind] ?? `${article(kind)} ${kind.replace(/-/g, ' ')} alarm`;
const listed = (words: string[]) =>
  words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;

/**
 * When a ladder first tells a person: the minutes after the raise and the 1-based level, or null when
 * no level does. The board is no person, nor are the people on the visit (the worker not heard from).
 */
export function firstPerson(policy: EscalationPolicy): { minutes: number; level: number } | null {
  let minutes = 0;
  for (const [i, level] of policy.levels.entries()) {
    minutes += level.afterMinutes;
    if (level.notify.some((t) => t !== 'board' && t.split(':')[1] !== VISITING_STAFF))
      return { minutes, level: i + 1 };
  }
  return null;
}

/**
 * Outside school hours (a school whose `escalationHours` says when they are) nobody watches the
 * board: every alarm kind the school can raise — the kinds the period names, and the kinds that
 * fall back to the school's own or Doorstep's default ladders — whose ladder then tells its first
 * person only after some minutes is warned, naming the kind, the periods and when. A ladder that
 * never tells a person is warned as `no-person` already.
 */
export function outOfHoursFirstPerson(s: SchoolConfig): ReachabilityProblem[] {
  const h = s.escalationHours;
  if (!h) return [];
  const routing = escalationRouting(s.escalation, h);
  const periods: Unwatched[] = routing.hours
    ? ['out-of-hours', 'weekend', 'holiday']
    : ['weekend', 'holiday'];
  const named = new Map<EscalationPolicy, string>();
  for (const [kind, p] of Object.entries(s.escalation)) named.set(p, `escalation.${kind}`);
  for (const key of ['outOfHours', 'weekend', 'holiday'] as const)
    for (const [kind, p] of Object.entries(h[key] ?? {})) named.set(p, `escalationHours.${key}.${kind}`);
  // The same ladder for the same kind in several periods is one warning naming them all.
  const found: { kind: string; policy: EscalationPolicy; periods: Unwatched[] }[] = [];
  for (const period of periods) {
    const ladders = laddersOf(laddersIn(routing, period), {
      deviceSilent: s.fobs.silentAlarmMinutes !== undefined,
    });
    for (const [kind, policy] of Object.entries(ladders)) {
      const same = found.find((f) => f.kind === kind && f.policy === policy);
      if (same) same.periods.push(period);
      else found.push({ kind, policy, periods: [period] });
    }
  }
  const out: ReachabilityProblem[] = [];
  for (const { kind, policy, periods: when } of found) {
    const first = firstPerson(policy);
    if (!first || first.minutes === 0) continue;
    const key = PERIOD_KEY[when[0]!];
    const path = named.get(policy) ?? "Doorstep's default ladder";
    const worker = policy.levels
      .slice(0, first.level - 1)
      .some((l) => l.notify.some((t) => t.split(':')[1] === VISITING_STAFF));
    out.push({
      ladder: `${key}.${kind}`,
      level: first.level,
      target: null,
      kind: 'late-first-person',
      message: `${listed(when.map((p) => PERIOD_WORDS[p]))}, ${kindWords(kind)} reaches its first person after ${first.minutes} min (${path} level ${first.level}): only the board, which nobody watches at night, before that${worker ? ' (and a text to the worker not heard from)' : ''} — give escalationHours.${key} ${article(kind)} ${kind} ladder whose first level texts or calls the on-call people (e.g. [board, sms:on-call-leaders])`,
    });
  }
  return out;
}
