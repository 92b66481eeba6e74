import { addDays } from '../../attendance/dates.ts';
import {
  type DayEvidence,
  dayEvidence,
  type EvaluationCaches,
  type EvaluationContext,
  type Evidence,
  MAX_EVIDENCE_DAYS,
  pct,
  type RuleOutcome,
} from '../finding.ts';
import {
  codeSet,
  NOT_SEEN,
  type NotExpectedDays,
  PARENT_REASON,
  type PupilAttendance,
} from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

/**
 * The run of absence ending with the latest day that counts: school days in a row whose every counting
 * session is in `set`. How a day with no counting session is taken — a closure `#`/`Y4`, an
 * arrangement `C2`/`S`, a not-possible code such as `D` or `Y2`, no mark — is the rule's
 * `sessionsNotExpected` (`PupilAttendance.runDay`); `days` counts the days that count.
 */
function absenceRun(
  p: PupilAttendance,
  set: Uint8Array,
  todayIndex: number,
  mode: NotExpectedDays,
): { start: number; end: number; days: number } | null {
  let end = todayIndex;
  while (end >= 0 && ['skip', 'arranged'].includes(p.runDay(end, set, mode))) end--;
  if (end < 0 || p.runDay(end, set, mode) !== 'count') return null;
  let start = end;
  let days = 1;
  let gap = 0;
  let arranged = 0;
  for (let d = end - 1; d >= 0; d--) {
    // Weeks with no marks at all (an export that stopped) say nothing of the days: the run ends there.
    gap = p.unmarked(d) ? gap + 1 : 0;
    if (gap > MAX_UNMARKED_DAYS) break;
    const day = p.runDay(d, set, mode);
    if (day === 'skip') continue;
    // Days the school arranged the pupil out of count only between absent days (`count-inside`).
    if (day === 'arranged') {
      arranged++;
      continue;
    }
    if (day === 'break') break;
    start = d;
    days += 1 + arranged;
    arranged = 0;
  }
  return { start, end, days };
}

/** How far before the academic year a run that ends in it is counted back (the summer holiday and a week). */
const SUMMER_LOOKBACK_DAYS = 70;

/** School days in a row with no mark at all that a run passes over (a week); more end it. */
const MAX_UNMARKED_DAYS = 5;

/**
 * The latest run of at least `min` days that ended this academic year (on or after day `first`)
 * before the latest marked day, or null: counted as `absenceRun` counts, forwards — from the start
 * of the run that day `first` continues, so a run across the summer holiday (July into September)
 * counts its July days too.
 */
function latestEndedRun(
  p: PupilAttendance,
  set: Uint8Array,
  first: number,
  todayIndex: number,
  min: number,
  mode: NotExpectedDays,
  earliest: number,
): { start: number; end: number; days: number } | null {
  const from = Math.max(earliest, first > 0 ? (absenceRun(p, set, first - 1, mode)?.start ?? first) : 0);
  let found: { start: number; end: number; days: number } | null = null;
  let run: { start: number; end: number; days: number } | null = null;
  let gap = 0;
  let arranged = 0;
  const keep = (r: { start: number; end: number; days: number } | null) => {
    if (r && r.days >= min && r.end >= first) found = r;
  };
  for (let d = Math.max(0, Math.min(from, first)); d <= todayIndex; d++) {
    gap = p.unmarked(d) ? gap + 1 : 0;
    if (gap > MAX_UNMARKED_DAYS) {
      keep(run);
      run = null;
      arranged = 0;
    }
    const day = p.runDay(d, set, mode);
    if (day === 'skip') continue;
    if (day === 'arranged') {
      if (run) arranged++;
      continue;
    }
    if (day === 'count') {
      run = run ? { start: run.start, end: d, days: run.days + 1 + arranged } : { start: d, end: d, days: 1 };
    } else {
      keep(run);
      run = null;
    }
    arranged = 0;
  }
  return found;
}

/** The first of the latest run of days (within the run) with no reason recorded: contact unanswered since. */
function unansweredSince(
  p: PupilAttendance,
  noReason: Uint8Array,
  run: { start: number; end: number },
): number {
  let since = run.end;
  for (let d = run.end - 1; d >= run.start; d--) {
    if (!p.hasMark(d)) continue;
    if (!p.allMarkedIn(d, noReason)) break;
    since = d;
  }
  return since;
}

const LATE = codeSet(['U']);

/** Days of the run on which the pupil was in school, late (`U`: after the register closed). */
function daysInLate(p: PupilAttendance, run: { start: number; end: number }): number {
  let n = 0;
  for (let d = run.start; d <= run.end; d++) if (p.hasMark(d) && p.anyMarkedIn(d, LATE)) n++;
  return n;
}

function runEvidence(p: PupilAttendance, run: { start: number; end: number; days: number }): Evidence {
  const days: DayEvidence[] = [];
  for (let d = Math.max(run.start, run.end - MAX_EVIDENCE_DAYS + 1); d <= run.end; d++)
    days.push(dayEvidence(p, d));
  const late = daysInLate(p, run);
  return {
    from: p.calendar.days[run.start]!,
    to: p.calendar.days[run.end]!,
    count: run.days,
    days,
    // Days of it the pupil was in school, late (said as unauthorised absence, not "absent") …
    ...(late > 0 ? { seenInSchool: late } : {}),
    // … and whether the latest was one: then the child is not missing now (no missing-education exemption).
    ...(p.anyMarkedIn(run.end, LATE) ? { seenLast: true as const } : {}),
  };
}

export function consecutiveAbsence(
  p: PupilAttendance,
  rule: Extract<Rule, { kind: 'consecutive-absence' }>,
  todayIndex: number,
  ctx: EvaluationContext,
  ev: EvaluationCaches,
): RuleOutcome {
  // "No reason recorded" counts only the days on which no reason was given: a day with a reason
  // ends the unanswered run (and so a present mark can never lengthen a run).
  // Absent means not seen: `U` (arrived after the register closed) is a day the child was seen.
  const set = rule.noReasonRecorded ? ev.noReasonSet(ev.setFor(rule, NOT_SEEN)) : ev.setFor(rule, NOT_SEEN);
  const mode = rule.sessionsNotExpected;
  const current = absenceRun(p, set, todayIndex, mode);
  // A return still to make for a run that has ended (the pupil back): the latest such run this year.
  const ended =
    rule.afterReturn && (!current || current.days < rule.days)
      ? latestEndedRun(
          p,
          set,
          ev.firstIndexFrom(p.calendar, ev.windowStart(ctx, 'academic-year')),
          todayIndex,
          rule.days,
          mode,
          // Counted back no further than the summer term's last weeks: a calendar that does not know
          // last year's spring and summer would otherwise join December's days to September's.
          ev.firstIndexFrom(p.calendar, addDays(ev.windowStart(ctx, 'academic-year'), -SUMMER_LOOKBACK_DAYS)),
        )
      : null;
  const run = ended ?? current;
  const n = run ? run.days : 0;
  // "No reason on the latest day" (Lime Hills: "absent … for a week or more, and attempts to contact
  // parents/carers have not elicited a response"): the length of the absence counts every absent
  // day, reasoned or not; "not elicited a response" is the state now — the latest absent day has no
  // reason recorded, whatever reasons earlier days of the same absence had.
  const noReason = rule.noReasonOnLatestDay ? ev.noReasonSet(set) : null;
  const unanswered = run !== null && (noReason === null || p.allMarkedIn(run.end, noReason));
  const fires = run !== null && n >= rule.days && unanswered && (!rule.flags || p.hasAnyFlag(rule.flags));
  const evidence: Evidence =
    run && (fires || ctx.explain)
      ? { ...runEvidence(p, run), ...(ended ? { ended: true as const } : {}) }
      : {};
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
        : `absent ${n} school ${n === 1 ? 'day' : 'days'} in a row${rule.noReasonRecorded ? ' with no reason recorded' : ''}; the rule needs ${rule.days}`,
    };
  }
  if (!unanswered) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain
        ? ''
        : `absent ${n} school days in a row, but the latest (${evidence.to}) has a reason recorded`,
    };
  }
  const since =
    noReason !== null
      ? `; no reason recorded since ${p.calendar.days[unansweredSince(p, noReason, run)]}`
      : '';
  const light = rule.whenReasonedEachDay;
  let lighter: { action: NonNullable<RuleOutcome['action']>; role: string } | undefined;
  let why = '';
  if (light) {
    // "Contact has been made from parents/carers for each day of absence": every absent session
    // of every day of the run carries a reason a parent gives (the code table), not just any code.
    const parent = light.reasonCodes ? ev.setFor({ codes: light.reasonCodes }, PARENT_REASON) : PARENT_REASON;
    let reasoned = true;
    for (let d = run.start; d <= run.end && reasoned; d++)
      reasoned = !p.hasMark(d) || p.allMarkedIn(d, parent);
    // "No safeguarding or attendance concerns".
    const safeguarding = p.hasAnyFlag(['welfareConcern', 'cpPlan', 'cin', 'lac']);
    const attendance = attendanceConcern(p, light, run.start, ctx, ev);
    // Said as it is: "a reason each day" only where every day has one (an O is no reason given).
    if (light.upToDays !== undefined && n > light.upToDays)
      why = reasoned
        ? `; a reason each day, but absent longer than the ${light.upToDays} days a ${light.action} addresses`
        : `; not every day has a reason from a parent/carer, and absent longer than the ${light.upToDays} days a ${light.action} addresses`;
    else if (!reasoned) why = '; not every day has a reason from a parent/carer';
    else if (safeguarding) why = '; a reason each day, but there is a safeguarding concern';
    else if (attendance) why = `; a reason each day, but there is an attendance concern (${attendance})`;
    else {
      lighter = { action: light.action, role: light.role };
      why = '; a parent/carer gave a reason for each day and there is no safeguarding or attendance concern';
    }
  }
  const back = ended ? '; the pupil is back since, the return still due this year' : '';
  return {
    fired: true,
    evidence,
    explanation: `${evidence.seenInSchool ? 'unauthorised absence' : 'absent'} ${n} school ${n === 1 ? 'day' : 'days'} in a row (${evidence.from} to ${evidence.to})${evidence.seenInSchool ? ` — in school late (U, after the register closed) on ${evidence.seenInSchool} of them` : ''}${since}${why}${back}`,
    ...(lighter ? { action: lighter.action, role: lighter.role } : {}),
  };
}

/** The attendance concern the pack names, if the pupil has it: the rate before the run began. */
function attendanceConcern(
  p: PupilAttendance,
  light: NonNullable<Extract<Rule, { kind: 'consecutive-absence' }>['whenReasonedEachDay']>,
  runStart: number,
  ctx: EvaluationContext,
  ev: EvaluationCaches,
): string | null {
  if (light.attendanceConcernAtMost === undefined) return null;
  const first = ev.firstIndexFrom(p.calendar, ev.windowStart(ctx, 'academic-year'));
  if (runStart - 1 < first) return null;
  const { possible, attended } = ev.sessionCounts(p, first, runStart - 1);
  if (possible < light.attendanceConcernMinSessions) return null;
  const rate = attended / possible;
  return rate <= light.attendanceConcernAtMost
    ? `attendance ${pct(rate)} this year before this absence, at most ${pct(light.attendanceConcernAtMost)}`
    : null;
}
