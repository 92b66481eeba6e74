import type { SchoolCalendar } from '../calendar.ts';
import type { PupilAttendance } from './pupil-attendance.ts';
import type { Action, Rule } from './rules.ts';

/** What a rule found for one pupil on one day. Pure data: stored as an episode's evidence. */
export interface Finding {
  /** `pack:rule`, stable across evaluations. */
  ruleKey: string;
  title: string;
  fired: boolean;
  action: Action;
  role: string;
  source: string;
  /** One sentence for a person: why it fired, or why not. */
  explanation: string;
  evidence: Evidence;
}

export interface DayEvidence {
  date: string;
  am: string;
  pm: string;
}

export interface Evidence {
  from?: string;
  to?: string;
  days?: DayEvidence[];
  sessions?: { date: string; session: 'AM' | 'PM'; code: string }[];
  rate?: number;
  possible?: number;
  attended?: number;
  count?: number;
  lastYear?: string[];
  /** The day the pupil left the roll (`left-roll`). */
  leftOn?: string;
  /** Where the MIS says the pupil went, when it says. */
  destination?: string;
  /** The run has ended (the pupil back): a return still due, no child missing now (`afterReturn`). */
  ended?: true;
  /**
   * A run counted in sessions (`countSessions`): its sessions (`count` is then school days, each
   * session its share of the pupil's possible sessions that day) and the session of its first and
   * last day it begins and ends with.
   */
  sessionsCounted?: number;
  fromSession?: 'AM' | 'PM';
  toSession?: 'AM' | 'PM';
  /**
   * Days of the run the school arranged the pupil out of (`C2` part-time timetable, `S` study leave)
   * that it counted as days not seen, the absence having begun (`count-inside`).
   */
  notExpected?: string[];
  /** Days (sessions, for a run counted in sessions) of the run the pupil was in school, late (`U`): said as unauthorised absence. */
  seenInSchool?: number;
  /** The run's latest day the pupil was in school, late: not a child missing now (no missing-education exemption). */
  seenLast?: true;
  /** The latest continuous period of the codes counted (`cumulative-absence` with `perPeriod`). */
  period?: { from: string; to: string };
  /** The codes a count over a period counted (`cumulative-absence`): the days it counted are those so marked. */
  codes?: string[];
}

/**
 * An open episode's finding is a new one — its episode closed and another raised, with its own note —
 * when its rule counts runs or periods (every `consecutive-absence` rule; `cumulative-absence` with
 * `perPeriod`) and the one found starts after the one the episode was opened for ended: a second
 * absence, not the first one's evidence updated. Evaluated every school day, the pupil's day back
 * closed the first run's episode (a rule without `afterReturn`); evaluated only after the second run
 * began (weekly uploads, a sync that failed), it is closed here, and the second run still gets its
 * own trigger, note and visit.
 */
export function startsNewEpisode(rule: Rule | undefined, open: Evidence, found: Evidence): boolean {
  const was = span(open).to;
  const now = span(found).from;
  return (
    (rule?.kind === 'consecutive-absence' || perRun(rule)) &&
    typeof was === 'string' &&
    typeof now === 'string' &&
    now > was
  );
}

/** The rule keeps one episode per run or period (`afterReturn`, `perPeriod`). */
export function perRun(rule: Rule | undefined): boolean {
  return (
    (rule?.kind === 'consecutive-absence' && rule.afterReturn) ||
    (rule?.kind === 'cumulative-absence' && rule.perPeriod)
  );
}

/** The days an episode's evidence covers: its period, else its from and to. */
function span(e: Evidence): { from: string | undefined; to: string | undefined } {
  return e.period ?? { from: e.from, to: e.to };
}

/**
 * A per-run finding with no open episode that a closed episode of the same rule already covered (the
 * run overlaps it): reported before — an episode the run's end closed under an earlier version, or one
 * closed when the pupil left and came back — so no second episode, and no second note.
 */
export function reportedBefore(
  rule: Rule | undefined,
  closed: readonly Evidence[],
  found: Evidence,
): boolean {
  if (!perRun(rule)) return false;
  const f = span(found);
  if (typeof f.from !== 'string' || typeof f.to !== 'string') return false;
  return closed.some((c) => {
    const s = span(c);
    return typeof s.from === 'string' && typeof s.to === 'string' && s.from <= f.to! && f.from! <= s.to;
  });
}

export interface EvaluationContext {
  /** Today in Europe/London (`YYYY-MM-DD`). */
  today: string;
  /**
   * Explain rules that did not fire too (the CLI's --explain). Off for bulk evaluation, where only
   * fired rules are kept, so no text is built that nobody reads.
   */
  explain?: boolean;
}

export interface RuleInPack {
  packId: string;
  rule: Rule;
}

/**
 * The first day of what a trigger counted (the first day of absence in a run, the first unresolved
 * session, the first absent day of a pattern), which is not the day it was raised. A rate over a
 * window (`possible` sessions) has no such day: its `from` is only where the window starts.
 */
export function firstDayOf(evidence: Evidence | null | undefined): string | null {
  if (!evidence || evidence.possible !== undefined) return null;
  const first = evidence.from ?? evidence.sessions?.[0]?.date ?? evidence.days?.[0]?.date;
  return typeof first === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(first) ? first : null;
}

/** Days of evidence kept with a finding at most (the latest ones). */
export const MAX_EVIDENCE_DAYS = 60;

/** What one rule kind says about one pupil; the rule's own action and role unless it says otherwise. */
export type RuleOutcome = {
  fired: boolean;
  explanation: string;
  evidence: Evidence;
  action?: Action;
  role?: string;
};

export function dayEvidence(p: PupilAttendance, d: number): DayEvidence {
  return { date: p.calendar.days[d]!, am: p.am(d), pm: p.pm(d) };
}

export function pct(r: number): string {
  return `${(r * 100).toFixed(1)}%`;
}

/** The shared work a rule kind may ask of the evaluator running it (cached per evaluation run). */
export interface EvaluationCaches {
  /** Index of the first school day on or after `from`. */
  firstIndexFrom(calendar: SchoolCalendar, from: string): number;
  /** School days (indexes) of the week 52 weeks before day `d`, Monday to Friday. */
  lastYearWeek(calendar: SchoolCalendar, d: number): readonly number[];
  /** The codes of `set` that carry no reason (N, O). */
  noReasonSet(set: Uint8Array): Uint8Array;
  /** The rule's codes as a set, or `fallback` when it names none. */
  setFor(rule: { codes?: readonly string[] | undefined }, fallback: Uint8Array): Uint8Array;
  /** The first day of a rate window ending today: N months back, or the academic year's start. */
  windowStart(ctx: EvaluationContext, window: { months: number } | 'academic-year'): string;
  /** Possible and attended sessions from day `first` to `last`. */
  sessionCounts(p: PupilAttendance, first: number, last: number): { possible: number; attended: number };
}
