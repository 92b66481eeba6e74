import { londonDate, londonMinutes, weekday } from '../attendance/dates.ts';
import type { SchoolCalendar } from '../calendar.ts';
import { type AlarmOrigin, type EscalationPolicy, policyFor } from './ladder.ts';

/**
 * Time-based routing: which of a school's ladders runs for an alarm raised at an instant. Every
 * instant falls in exactly one period, decided in Europe/London (clock changes included) from the
 * school's calendar and its school-hours timetable:
 *
 * - `weekend`: a Saturday or Sunday (also in a holiday);
 * - `holiday`: a weekday the calendar says the school does not meet (a holiday between terms,
 *   before the first or after the last term of a year the terms cover, an INSET day, a bank holiday
 *   or a closure);
 * - `school-hours`: a school day, inside its hours (start inclusive, end exclusive);
 * - `out-of-hours`: a school day, outside its hours.
 *
 * A weekday the calendar cannot judge (a year no term covers) counts as a school day, as the import
 * judges marks. A period's ladders are laid over the school's ladders kind by kind: `weekend` and
 * `holiday` over `out-of-hours` over the school's own (`escalation`), so a variant replaces exactly
 * the kinds it names and every other kind keeps its ladder. The resolver is then the one
 * `policyFor`. Pure: the instant is a parameter.
 */
export const LADDER_PERIODS = ['school-hours', 'out-of-hours', 'weekend', 'holiday'] as const;
export type LadderPeriod = (typeof LADDER_PERIODS)[number];

/** Minutes after midnight, start inclusive, end exclusive (start < end). */
export interface HoursWindow {
  from: number;
  to: number;
}

/** School hours on a school day, and per weekday (1 = Monday … 5 = Friday) where they differ. */
export interface SchoolHours {
  schoolDay: HoursWindow;
  byWeekday: Partial<Record<1 | 2 | 3 | 4 | 5, HoursWindow>>;
}

export type Ladders = Readonly<Record<string, EscalationPolicy>>;

export interface EscalationRouting {
  /** The school's ladders (its config's over its packs'): school hours, and every kind no variant names. */
  base: Ladders;
  /** Absent: every school-day instant is in school hours (there is no out-of-hours variant). */
  hours?: SchoolHours | undefined;
  outOfHours?: Ladders | undefined;
  weekend?: Ladders | undefined;
  holiday?: Ladders | undefined;
}

/**
 * A ladder as snapshotted onto an alarm: the policy, the period its raise fell in, and whether that
 * period's own ladders gave it (`byPeriod: false`: the school's ladder, which no variant replaced for
 * this kind — not to be called an "out of hours ladder"). `ladderOf`, when a period's ladders gave
 * it: which period's they are — at a weekend or in a holiday that names no ladder for the kind, the
 * out-of-hours one (never to be called a "weekend ladder" where the school has none).
 */
export type RoutedPolicy = EscalationPolicy & {
  period?: LadderPeriod;
  byPeriod?: boolean;
  ladderOf?: Exclude<LadderPeriod, 'school-hours'>;
};

/** The period an instant falls in (see above). */
export function periodAt(
  calendar: SchoolCalendar,
  hours: SchoolHours | undefined,
  instant: Date,
): LadderPeriod {
  const date = londonDate(instant);
  const wd = weekday(date);
  if (wd === 0 || wd === 6) return 'weekend';
  if (!calendar.isSchoolDay(date) && calendar.whyClosed(date) !== undefined) return 'holiday';
  if (!hours) return 'school-hours';
  const window = hours.byWeekday[wd as 1 | 2 | 3 | 4 | 5] ?? hours.schoolDay;
  const minutes = londonMinutes(instant);
  return minutes >= window.from && minutes < window.to ? 'school-hours' : 'out-of-hours';
}

/** The ladders by kind that hold in a period: the period's over out-of-hours' over the school's. */
export function laddersIn(routing: EscalationRouting, period: LadderPeriod): Ladders {
  if (period === 'school-hours') return routing.base;
  const outOfHours = { ...routing.base, ...(routing.outOfHours ?? {}) };
  if (period === 'out-of-hours') return outOfHours;
  return { ...outOfHours, ...(routing[period] ?? {}) };
}

/**
 * The ladder an alarm of `type` raised at `instant` follows, with the period that chose it (to be
 * snapshotted onto the alarm). Never empty: every ladder the config accepts has a level with a target.
 */
export function chooseLadder(
  routing: EscalationRouting,
  calendar: SchoolCalendar,
  instant: Date,
  type: string,
  origin: AlarmOrigin = 'register',
): RoutedPolicy {
  const period = periodAt(calendar, routing.hours, instant);
  const chosen = policyFor(laddersIn(routing, period), type, origin);
  const byPeriod = chosen !== policyFor(routing.base, type, origin);
  // A weekend or holiday that names no ladder of its own for the kind: out of hours' holds.
  const ladderOf = !byPeriod
    ? undefined
    : period !== 'out-of-hours' && chosen === policyFor(laddersIn(routing, 'out-of-hours'), type, origin)
      ? 'out-of-hours'
      : (period as Exclude<LadderPeriod, 'school-hours'>);
  // The same object for the same ladder, period and choice: every alarm of a period shares one
  // snapshot (its JSON is written once per group, src/store/alarms.ts). Never mutated.
  let routed = routedOf.get(chosen);
  if (!routed) {
    routed = new Map();
    routedOf.set(chosen, routed);
  }
  const key = `${period}|${byPeriod}|${ladderOf}`;
  let r = routed.get(key);
  if (!r) {
    r = { ...chosen, period, byPeriod, ...(ladderOf ? { ladderOf } : {}) };
    routed.set(key, r);
  }
  return r;
}
const routedOf = new WeakMap<EscalationPolicy, Map<string, RoutedPolicy>>();

/**
 * Whether a ladder step must also look at the ladder that holds now: past the ladder's first round,
 * or on a re-entry after a timed-out acknowledgement. The first round is the ladder chosen at the
 * raise; the steps after it (and every reopen) may run hours later, in another period — an alarm
 * raised at 16:58 still repeating at 19:00 must reach whoever is on call out of hours.
 */
export function looksAtLadderNow(saved: EscalationPolicy, step: number, reopened: boolean): boolean {
  return reopened || step >= saved.levels.length;
}

/**
 * The targets of a step that `looksAtLadderNow`: its own, plus the last level's targets of `now` (the
 * ladder an alarm of its kind raised now would follow) when the clock has left the period `saved`
 * was chosen in. Only ever adds: the people of the saved ladder are still paged. Unchanged when no
 * period is known now (a school without ladders by time) or it is the one the alarm was raised in.
 */
export function targetsWithLadderNow(
  targets: readonly string[],
  saved: RoutedPolicy,
  now: RoutedPolicy,
): { targets: string[]; added: string[] } {
  if (now.period === undefined || now.period === saved.period) return { targets: [...targets], added: [] };
  const added = now.levels.at(-1)!.notify.filter((t) => !targets.includes(t));
  return { targets: [...targets, ...added], added };
}

/** `"08:00-17:00"` → a window; null when it is not one (end not after start, or not HH:MM-HH:MM). */
export function parseHoursWindow(text: string): HoursWindow | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$/.exec(text);
  if (!m) return null;
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = Number(m[3]) * 60 + Number(m[4]);
  if (to > 24 * 60 || to <= from) return null;
  return { from, to };
}
