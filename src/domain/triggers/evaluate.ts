import { academicYearOf, addDays } from '../attendance/dates.ts';
import type { SchoolCalendar } from '../calendar.ts';
import {
  ABSENCE,
  ATTENDED,
  AUTHORISED,
  codeNumber,
  codeSet,
  NO_REASON,
  NOT_POSSIBLE,
  type PupilAttendance,
} from './pupil-attendance.ts';
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

const MAX_EVIDENCE_DAYS = 60;

/**
 * Date arithmetic that depends only on the calendar and the day (window starts, last year's weeks)
 * is done once per calendar, not once per pupil.
 */
const calendarCaches = new WeakMap<
  SchoolCalendar,
  { firstIndex: Map<string, number>; lastYearWeek: Map<number, number[]> }
>();

function cacheFor(calendar: SchoolCalendar) {
  let c = calendarCaches.get(calendar);
  if (!c) {
    c = { firstIndex: new Map(), lastYearWeek: new Map() };
    calendarCaches.set(calendar, c);
  }
  return c;
}

/** Index of the first school day on or after `from`. */
function firstIndexFrom(calendar: SchoolCalendar, from: string): number {
  const cache = cacheFor(calendar).firstIndex;
  let i = cache.get(from);
  if (i === undefined) {
    i = calendar.indexOnOrBefore(addDays(from, -1)) + 1;
    cache.set(from, i);
  }
  return i;
}

/** School days (indexes) of the week 52 weeks before day `d`, Monday to Friday. */
function lastYearWeek(calendar: SchoolCalendar, d: number): number[] {
  const cache = cacheFor(calendar).lastYearWeek;
  let week = cache.get(d);
  if (!week) {
    const sameDayLastYear = addDays(calendar.days[d]!, -364);
    const monday = addDays(sameDayLastYear, 1 - new Date(`${sameDayLastYear}T00:00:00Z`).getUTCDay());
    week = [];
    for (let k = 0; k < 5; k++) {
      const i = calendar.indexOf(addDays(monday, k));
      if (i !== undefined) week.push(i);
    }
    cache.set(d, week);
  }
  return week;
}

const windowStarts = new Map<string, string>();

function dayEvidence(p: PupilAttendance, d: number): DayEvidence {
  return { date: p.calendar.days[d]!, am: p.am(d), pm: p.pm(d) };
}

function pct(r: number): string {
  return `${(r * 100).toFixed(1)}%`;
}

/** Evaluates every rule for one pupil. Pure: same marks, calendar and day → same findings. */
export function evaluatePupil(
  p: PupilAttendance,
  rules: readonly RuleInPack[],
  ctx: EvaluationContext,
): Finding[] {
  const todayIndex = p.calendar.indexOnOrBefore(ctx.today);
  return rules.map(({ packId, rule }) => {
    const base = {
      ruleKey: `${packId}:${rule.id}`,
      title: rule.title,
      action: rule.action,
      role: rule.role,
      source: rule.source,
    };
    const r = evaluateRule(p, rule, todayIndex, ctx);
    return { ...base, ...r, action: r.action ?? base.action, role: r.role ?? base.role };
  });
}

type RuleOutcome = {
  fired: boolean;
  explanation: string;
  evidence: Evidence;
  action?: Action;
  role?: string;
};

function evaluateRule(
  p: PupilAttendance,
  rule: Rule,
  todayIndex: number,
  ctx: EvaluationContext,
): RuleOutcome {
  switch (rule.kind) {
    case 'consecutive-absence':
      return consecutiveAbsence(p, rule, todayIndex, ctx);
    case 'attendance-rate':
      return attendanceRate(p, rule, todayIndex, ctx);
    case 'unresolved-code':
      return unresolvedCode(p, rule, todayIndex, ctx);
    case 'cumulative-absence':
      return cumulativeAbsence(p, rule, todayIndex, ctx);
    case 'repeated-pattern':
      return repeatedPattern(p, rule, todayIndex, ctx);
    case 'illness-during-refused-leave':
      return illnessDuringRefusedLeave(p, rule, todayIndex, ctx);
  }
}

const setCache = new WeakMap<object, Uint8Array>();
const noReasonCache = new WeakMap<Uint8Array, Uint8Array>();

/** The codes of `set` that carry no reason (N, O, G). */
function noReasonSet(set: Uint8Array): Uint8Array {
  let s = noReasonCache.get(set);
  if (!s) {
    s = set.map((v, i) => (v === 1 && NO_REASON[i] === 1 ? 1 : 0));
    noReasonCache.set(set, s);
  }
  return s;
}
function setFor(rule: { codes?: readonly string[] | undefined }, fallback: Uint8Array): Uint8Array {
  if (!rule.codes) return fallback;
  let s = setCache.get(rule.codes);
  if (!s) {
    s = codeSet(rule.codes);
    setCache.set(rule.codes, s);
  }
  return s;
}

/** The run of absent school days ending with the latest marked day on or before today. */
function absenceRun(
  p: PupilAttendance,
  set: Uint8Array,
  todayIndex: number,
): { start: number; end: number } | null {
  const end = p.lastMarkedDay(todayIndex);
  if (end < 0 || !p.allMarkedIn(end, set)) return null;
  let start = end;
  while (start > 0 && p.allMarkedIn(start - 1, set)) start--;
  return { start, end };
}

function runEvidence(p: PupilAttendance, run: { start: number; end: number }): Evidence {
  const days: DayEvidence[] = [];
  for (let d = Math.max(run.start, run.end - MAX_EVIDENCE_DAYS + 1); d <= run.end; d++)
    days.push(dayEvidence(p, d));
  return {
    from: p.calendar.days[run.start]!,
    to: p.calendar.days[run.end]!,
    count: run.end - run.start + 1,
    days,
  };
}

function consecutiveAbsence(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'consecutive-absence' }>,
  todayIndex: number,
  ctx: EvaluationContext,
): RuleOutcome {
  // "No reason recorded" counts only the days on which no reason was given: a day with a reason
  // ends the unanswered run (and so a present mark can never lengthen a run).
  const set = rule.noReasonRecorded ? noReasonSet(setFor(rule, ABSENCE)) : setFor(rule, ABSENCE);
  const run = absenceRun(p, set, todayIndex);
  const n = run ? run.end - run.start + 1 : 0;
  const fires = run !== null && n >= rule.days && (!rule.flags || p.hasAnyFlag(rule.flags));
  const evidence = run && (fires || ctx.explain) ? runEvidence(p, run) : {};
  if (rule.flags && !p.hasAnyFlag(rule.flags)) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain ? '' : `the pupil has none of the flags ${rule.flags.join(', ')}`,
    };
  }
  if (!run || n < rule.days) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain
        ? ''
        : `absent ${n} school day(s) in a row${rule.noReasonRecorded ? ' with no reason recorded' : ''}; the rule needs ${rule.days}`,
    };
  }
  let reasoned = true;
  for (let d = run.start; d <= run.end && reasoned; d++) reasoned = p.anyMarkedIn(d, AUTHORISED);
  const concern = p.hasAnyFlag(['welfareConcern', 'cpPlan', 'cin', 'lac']);
  const lighter = rule.whenReasonedEachDay && reasoned && !concern ? rule.whenReasonedEachDay : undefined;
  return {
    fired: true,
    evidence,
    explanation: `absent ${n} school days in a row (${evidence.from} to ${evidence.to})${
      lighter ? '; a reason was recorded for each day and there is no concern flag' : ''
    }`,
    ...(lighter ? { action: lighter.action, role: lighter.role } : {}),
  };
}

function windowStart(ctx: EvaluationContext, window: { months: number } | 'academic-year'): string {
  const key = `${ctx.today}|${window === 'academic-year' ? 'ay' : window.months}`;
  let from = windowStarts.get(key);
  if (from === undefined) {
    if (window === 'academic-year') from = `${academicYearOf(ctx.today)}-09-01`;
    else {
      const [y, m, d] = ctx.today.split('-').map(Number) as [number, number, number];
      from = addDays(new Date(Date.UTC(y, m - 1 - window.months, d)).toISOString().slice(0, 10), 1);
    }
    if (windowStarts.size > 10_000) windowStarts.clear();
    windowStarts.set(key, from);
  }
  return from;
}

/** Possible and attended sessions from day `first` to `last`; several rate rules share one count. */
const countMemo = new WeakMap<PupilAttendance, Map<number, { possible: number; attended: number }>>();
function sessionCounts(
  p: PupilAttendance,
  first: number,
  last: number,
): { possible: number; attended: number } {
  let memo = countMemo.get(p);
  if (!memo) {
    memo = new Map();
    countMemo.set(p, memo);
  }
  const key = first * 100_000 + last;
  const hit = memo.get(key);
  if (hit) return hit;
  let possible = 0;
  let attended = 0;
  const slots = p.slots;
  for (let i = first * 2; i <= last * 2 + 1; i++) {
    const c = slots[i]!;
    if (c === 0 || NOT_POSSIBLE[c] === 1) continue;
    possible++;
    attended += ATTENDED[c]!;
  }
  const result = { possible, attended };
  memo.set(key, result);
  return result;
}

function attendanceRate(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'attendance-rate' }>,
  todayIndex: number,
  ctx: EvaluationContext,
): RuleOutcome {
  const from = windowStart(ctx, rule.window);
  const { possible, attended } = sessionCounts(p, firstIndexFrom(p.calendar, from), todayIndex);
  const to = p.calendar.days[todayIndex] ?? ctx.today;
  if (possible < rule.minSessions) {
    return {
      fired: false,
      evidence: { from, to, possible, attended },
      explanation: !ctx.explain
        ? ''
        : `only ${possible} possible session(s) since ${from}; the rule needs ${rule.minSessions}`,
    };
  }
  const rate = attended / possible;
  const fired = rule.inclusive ? rate <= rule.threshold : rate < rule.threshold;
  if (!fired && !ctx.explain) return { fired, evidence: {}, explanation: '' };
  const evidence = { from, to, possible, attended, rate: Number(rate.toFixed(4)) };
  return {
    fired,
    evidence,
    explanation: `attendance ${pct(rate)} (${attended}/${possible} sessions) from ${from} to ${to}; threshold ${rule.inclusive ? 'at most' : 'below'} ${pct(rule.threshold)}`,
  };
}

function unresolvedCode(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'unresolved-code' }>,
  todayIndex: number,
  ctx: EvaluationContext,
): RuleOutcome {
  const target = codeNumber(rule.code);
  const last = todayIndex - rule.afterSchoolDays;
  const sessions: NonNullable<Evidence['sessions']> = [];
  for (let d = 0; d <= last; d++) {
    if (p.slots[d * 2] === target)
      sessions.push({ date: p.calendar.days[d]!, session: 'AM', code: rule.code });
    if (p.slots[d * 2 + 1] === target)
      sessions.push({ date: p.calendar.days[d]!, session: 'PM', code: rule.code });
  }
  if (sessions.length === 0) {
    return {
      fired: false,
      evidence: {},
      explanation: !ctx.explain ? '' : `no ${rule.code} older than ${rule.afterSchoolDays} school days`,
    };
  }
  return {
    fired: true,
    evidence: {
      sessions: sessions.slice(-MAX_EVIDENCE_DAYS),
      count: sessions.length,
      from: sessions[0]!.date,
    },
    explanation: `${sessions.length} session(s) still coded ${rule.code} more than ${rule.afterSchoolDays} school days later (first ${sessions[0]!.date})`,
  };
}

function cumulativeAbsence(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'cumulative-absence' }>,
  todayIndex: number,
  ctx: EvaluationContext,
): RuleOutcome {
  const set = setFor(rule, ABSENCE);
  const from = windowStart(ctx, 'academic-year');
  const first = firstIndexFrom(p.calendar, from);
  let sessions = 0;
  let firstDay = -1;
  for (let i = first * 2; i <= todayIndex * 2 + 1; i++) {
    if (set[p.slots[i]!] === 1) {
      sessions++;
      if (firstDay < 0) firstDay = i >> 1;
    }
  }
  const days = sessions / 2;
  const evidence: Evidence = { from, to: p.calendar.days[todayIndex] ?? ctx.today, count: days };
  if (days < rule.days) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain
        ? ''
        : `${days} school day(s) coded ${rule.codes.join('/')} this academic year; the rule needs ${rule.days}`,
    };
  }
  return {
    fired: true,
    evidence: { ...evidence, from: p.calendar.days[firstDay]! },
    explanation: `${days} school days coded ${rule.codes.join('/')} this academic year (consecutive or not)`,
  };
}

function repeatedPattern(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'repeated-pattern' }>,
  todayIndex: number,
  ctx: EvaluationContext,
): RuleOutcome {
  const matches: DayEvidence[] = [];
  const lastYear = new Set<string>();
  for (let d = Math.max(0, todayIndex - rule.recentSchoolDays + 1); d <= todayIndex; d++) {
    if (!p.allMarkedIn(d, ABSENCE)) continue;
    // The same week 52 weeks earlier (same weekdays, so the same week of the school year).
    let hit = false;
    for (const i of lastYearWeek(p.calendar, d)) {
      if (p.allMarkedIn(i, ABSENCE)) {
        lastYear.add(p.calendar.days[i]!);
        hit = true;
      }
    }
    if (hit) matches.push(dayEvidence(p, d));
  }
  if (matches.length < rule.minDays) {
    return {
      fired: false,
      evidence: {},
      explanation: !ctx.explain
        ? ''
        : `${matches.length} recent absent day(s) fall in weeks absent last year; the rule needs ${rule.minDays}`,
    };
  }
  const years = [...lastYear].sort();
  return {
    fired: true,
    evidence: {
      from: matches[0]!.date,
      to: matches.at(-1)!.date,
      count: matches.length,
      days: matches,
      lastYear: years,
    },
    explanation: `${matches.length} absent day(s) from ${matches[0]!.date} fall in the same weeks as absence a year earlier (${years.join(', ')})`,
  };
}

function illnessDuringRefusedLeave(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'illness-during-refused-leave' }>,
  todayIndex: number,
  ctx: EvaluationContext,
): RuleOutcome {
  const set = setFor(rule, ABSENCE);
  const recentFrom = p.calendar.days[Math.max(0, todayIndex - rule.recentSchoolDays + 1)];
  const today = p.calendar.days[todayIndex];
  const sessions: NonNullable<Evidence['sessions']> = [];
  let period: { from: string; to: string } | undefined;
  for (const r of p.refusedLeave) {
    if (!recentFrom || !today || r.to < recentFrom || r.from > today) continue;
    const first = firstIndexFrom(p.calendar, r.from);
    const last = Math.min(todayIndex, p.calendar.indexOnOrBefore(r.to));
    for (let d = first; d <= last; d++) {
      if (set[p.slots[d * 2]!] === 1)
        sessions.push({ date: p.calendar.days[d]!, session: 'AM', code: p.am(d) });
      if (set[p.slots[d * 2 + 1]!] === 1)
        sessions.push({ date: p.calendar.days[d]!, session: 'PM', code: p.pm(d) });
    }
    if (sessions.length) {
      period = r;
      break;
    }
  }
  if (!period) {
    return {
      fired: false,
      evidence: {},
      explanation: !ctx.explain
        ? ''
        : p.refusedLeave.length
          ? `no ${rule.codes.join('/')} during a recent refused leave period`
          : 'no term-time leave refusal recorded',
    };
  }
  return {
    fired: true,
    evidence: { from: period.from, to: period.to, sessions, count: sessions.length },
    explanation: `${sessions.length} session(s) coded ${rule.codes.join('/')} during ${period.from} to ${period.to}, a period for which term-time leave was refused`,
  };
}
