import { academicYearOf, addDays } from '../attendance/dates.ts';
import {
  ABSENCE,
  ATTENDED,
  AUTHORISED,
  CODE_LIST,
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
}

export interface RuleInPack {
  packId: string;
  rule: Rule;
}

const MAX_EVIDENCE_DAYS = 60;

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
      return consecutiveAbsence(p, rule, todayIndex);
    case 'attendance-rate':
      return attendanceRate(p, rule, todayIndex, ctx);
    case 'unresolved-code':
      return unresolvedCode(p, rule, todayIndex);
    case 'cumulative-absence':
      return cumulativeAbsence(p, rule, todayIndex, ctx);
    case 'repeated-pattern':
      return repeatedPattern(p, rule, todayIndex);
  }
}

const setCache = new WeakMap<object, Uint8Array>();
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
): RuleOutcome {
  const set = setFor(rule, ABSENCE);
  const run = absenceRun(p, set, todayIndex);
  const n = run ? run.end - run.start + 1 : 0;
  const evidence = run ? runEvidence(p, run) : {};
  if (rule.flags && !p.hasAnyFlag(rule.flags)) {
    return {
      fired: false,
      evidence,
      explanation: `the pupil has none of the flags ${rule.flags.join(', ')}`,
    };
  }
  if (!run || n < rule.days) {
    return {
      fired: false,
      evidence,
      explanation: `absent ${n} school day(s) in a row; the rule needs ${rule.days}`,
    };
  }
  if (rule.noReasonRecorded) {
    for (let d = run.start; d <= run.end; d++) {
      if (!p.allMarkedIn(d, NO_REASON)) {
        return {
          fired: false,
          evidence,
          explanation: `a reason was recorded for ${p.calendar.days[d]} (${p.am(d) || '-'}/${p.pm(d) || '-'}), so contact was made`,
        };
      }
    }
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
  if (window === 'academic-year') return `${academicYearOf(ctx.today)}-09-01`;
  const [y, m, d] = ctx.today.split('-').map(Number) as [number, number, number];
  const back = new Date(Date.UTC(y, m - 1 - window.months, d));
  return addDays(back.toISOString().slice(0, 10), 1);
}

function attendanceRate(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'attendance-rate' }>,
  todayIndex: number,
  ctx: EvaluationContext,
): RuleOutcome {
  const from = windowStart(ctx, rule.window);
  const first = p.calendar.indexOnOrBefore(addDays(from, -1)) + 1;
  let possible = 0;
  let attended = 0;
  const slots = p.slots;
  for (let i = first * 2; i <= todayIndex * 2 + 1; i++) {
    const c = slots[i]!;
    if (c === 0 || NOT_POSSIBLE[c] === 1) continue;
    possible++;
    if (ATTENDED[c] === 1) attended++;
  }
  const to = p.calendar.days[todayIndex] ?? ctx.today;
  if (possible < rule.minSessions) {
    return {
      fired: false,
      evidence: { from, to, possible, attended },
      explanation: `only ${possible} possible session(s) since ${from}; the rule needs ${rule.minSessions}`,
    };
  }
  const rate = attended / possible;
  const fired = rule.inclusive ? rate <= rule.threshold : rate < rule.threshold;
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
): RuleOutcome {
  const target = CODE_LIST.indexOf(rule.code);
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
      explanation: `no ${rule.code} older than ${rule.afterSchoolDays} school days`,
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
  const from = `${academicYearOf(ctx.today)}-09-01`;
  const first = p.calendar.indexOnOrBefore(addDays(from, -1)) + 1;
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
      explanation: `${days} school day(s) coded ${rule.codes.join('/')} this academic year; the rule needs ${rule.days}`,
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
): RuleOutcome {
  const matches: DayEvidence[] = [];
  const lastYear = new Set<string>();
  for (let d = Math.max(0, todayIndex - rule.recentSchoolDays + 1); d <= todayIndex; d++) {
    if (!p.allMarkedIn(d, ABSENCE)) continue;
    // The same week 52 weeks earlier (same weekdays, so the same week of the school year).
    const sameDayLastYear = addDays(p.calendar.days[d]!, -364);
    const monday = addDays(sameDayLastYear, 1 - new Date(`${sameDayLastYear}T00:00:00Z`).getUTCDay());
    let hit = false;
    for (let k = 0; k < 5; k++) {
      const i = p.calendar.indexOf(addDays(monday, k));
      if (i !== undefined && p.allMarkedIn(i, ABSENCE)) {
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
      explanation: `${matches.length} recent absent day(s) fall in weeks absent last year; the rule needs ${rule.minDays}`,
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
