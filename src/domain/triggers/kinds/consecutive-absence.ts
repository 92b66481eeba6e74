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
  ATTENDED,
  codeSet,
  NOT_SEEN,
  type NotExpectedDays,
  PARENT_REASON,
  type PupilAttendance,
} from '../pupil-attendance.ts';
import type { Rule } from '../rules.ts';

/**
 * A run of absence: its first and last day (indexes), and what it counted — school days, or for a
 * rule counted in sessions (`countSessions`) sessions, whose indexes (day × 2, + 1 for the
 * afternoon) are `first` and `last`.
 */
interface Run {
  start: number;
  end: number;
  /** School days counted, or sessions counted (`sessions`). */
  count: number;
  /** The first and last unit counted: day indexes, or session indexes (`sessions`). */
  first: number;
  last: number;
  /**
   * The latest unit the pupil missed (absent, in the rule's codes): `last` unless days the school
   * arranged the pupil out of (`C2`, `S`) followed it and count (`count-inside`).
   */
  missed: number;
  sessions: boolean;
}

/** A school day (`shift` 0) or a session (`shift` 1) to a run: `runDay` or `runSession`. */
function unitKind(p: PupilAttendance, u: number, set: Uint8Array, mode: NotExpectedDays, shift: 0 | 1) {
  return shift === 1 ? p.runSession(u, set, mode) : p.runDay(u, set, mode);
}

function toRun(first: number, last: number, count: number, missed: number, shift: 0 | 1): Run {
  return { start: first >> shift, end: last >> shift, count, first, last, missed, sessions: shift === 1 };
}

/**
 * The run of absence ending with the latest unit that counts: school days (`shift` 0) whose every
 * counting session is in `set`, or sessions (`shift` 1) in `set`, in a row. How a unit with no
 * counting session is taken — a closure `#`/`Y4`, an arrangement `C2`/`S`, a not-possible code such
 * as `D` or `Y2`, no mark — is the rule's `sessionsNotExpected` (`PupilAttendance.runDay`,
 * `runSession`); `count` counts the units that count.
 */
function absenceRun(
  p: PupilAttendance,
  set: Uint8Array,
  todayIndex: number,
  mode: NotExpectedDays,
  shift: 0 | 1,
): Run | null {
  let last = ((todayIndex + 1) << shift) - 1;
  // Days the school arranged the pupil out of (`count-inside`) after the latest absent one: the
  // absence has begun and goes on (nothing attended since), so they count — Lime Hills' "a week"
  // is a week not seen, Heath Lane's 3 school days 3 days not seen.
  let tail = 0;
  let tailLast = -1;
  let k = last >= 0 ? unitKind(p, last, set, mode, shift) : 'break';
  while (last >= 0 && (k === 'skip' || k === 'arranged')) {
    if (k === 'arranged' && tail++ === 0) tailLast = last;
    last--;
    if (last >= 0) k = unitKind(p, last, set, mode, shift);
  }
  if (last < 0 || k !== 'count') return null;
  let first = last;
  let count = 1;
  let gap = 0;
  let arranged = 0;
  for (let u = last - 1; u >= 0; u--) {
    // Weeks with no marks at all (an export that stopped) say nothing of the days: the run ends
    // there. (Walking back, a day's afternoon is its first session.)
    if (shift === 0 || (u & 1) === 1) {
      gap = p.unmarked(u >> shift) ? gap + 1 : 0;
      if (gap > MAX_UNMARKED_DAYS) break;
    }
    const unit = unitKind(p, u, set, mode, shift);
    if (unit === 'skip') continue;
    // Days the school arranged the pupil out of count once the absence has begun (`count-inside`):
    // never before its first absent day.
    if (unit === 'arranged') {
      arranged++;
      continue;
    }
    if (unit === 'break') break;
    first = u;
    count += 1 + arranged;
    arranged = 0;
  }
  return tail > 0
    ? toRun(first, tailLast, count + tail, last, shift)
    : toRun(first, last, count, last, shift);
}

/** How far before the academic year a run that ends in it is counted back (the summer holiday and a week). */
const SUMMER_LOOKBACK_DAYS = 70;

/** School days in a row with no mark at all that a run passes over (a week); more end it. */
const MAX_UNMARKED_DAYS = 5;

/**
 * The latest run of at least `min` units that ended this academic year (on or after day `first`)
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
  shift: 0 | 1,
): Run | null {
  const firstUnit = first << shift;
  const from = Math.max(
    earliest << shift,
    first > 0 ? (absenceRun(p, set, first - 1, mode, shift)?.first ?? firstUnit) : 0,
  );
  let found: Run | null = null;
  let run: { first: number; last: number; count: number; missed: number } | null = null;
  let gap = 0;
  // Arranged units (`count-inside`) since the run's latest absent one: counted once another follows,
  // or when the run ends — the absence went on through them.
  let arranged = 0;
  let arrangedLast = -1;
  const keep = (r: { first: number; last: number; count: number; missed: number } | null) => {
    if (r && arranged > 0) r = { ...r, last: arrangedLast, count: r.count + arranged };
    if (r && r.count >= min && r.last >> shift >= first)
      found = toRun(r.first, r.last, r.count, r.missed, shift);
  };
  const lastUnit = ((todayIndex + 1) << shift) - 1;
  for (let u = Math.max(0, Math.min(from, firstUnit)); u <= lastUnit; u++) {
    // (Walking forwards, a day's morning is its first session.)
    if (shift === 0 || (u & 1) === 0) {
      gap = p.unmarked(u >> shift) ? gap + 1 : 0;
      if (gap > MAX_UNMARKED_DAYS) {
        keep(run);
        run = null;
        arranged = 0;
      }
    }
    const unit = unitKind(p, u, set, mode, shift);
    if (unit === 'skip') continue;
    if (unit === 'arranged') {
      if (run) {
        arranged++;
        arrangedLast = u;
      }
      continue;
    }
    if (unit === 'count') {
      run = run
        ? { first: run.first, last: u, count: run.count + 1 + arranged, missed: u }
        : { first: u, last: u, count: 1, missed: u };
    } else {
      keep(run);
      run = null;
    }
    arranged = 0;
  }
  return found;
}

/** The first of the latest run of days (within the run) with no reason recorded: contact unanswered since. */
function unansweredSince(p: PupilAttendance, noReason: Uint8Array, run: Run, missedDay: number): number {
  let since = missedDay;
  for (let d = missedDay - 1; d >= run.start; d--) {
    if (!p.hasMark(d)) continue;
    if (!p.allMarkedIn(d, noReason)) break;
    since = d;
  }
  return since;
}

const LATE = codeSet(['U']);

/**
 * Days of the run on which the pupil was in school, late (`U`: after the register closed) — or, for
 * a run counted in sessions, such sessions.
 */
function timesInLate(p: PupilAttendance, run: Run): number {
  let n = 0;
  if (run.sessions) {
    for (let s = run.first; s <= run.last; s++) if (LATE[p.slots[s]!] === 1) n++;
    return n;
  }
  for (let d = run.start; d <= run.end; d++) if (p.hasMark(d) && p.anyMarkedIn(d, LATE)) n++;
  return n;
}

/**
 * Days of the run the school arranged the pupil out of (`C2`, `S`) that it counted as days not seen
 * (`count-inside`), the latest `MAX_EVIDENCE_DAYS` of them.
 */
function arrangedDays(p: PupilAttendance, run: Run, set: Uint8Array, mode: NotExpectedDays): number[] {
  const out: number[] = [];
  if (mode !== 'count-inside') return out;
  if (run.sessions) {
    for (let s = run.first; s <= run.last; s++)
      if (p.runSession(s, set, mode) === 'arranged' && out.at(-1) !== s >> 1) out.push(s >> 1);
  } else for (let d = run.start; d <= run.end; d++) if (p.runDay(d, set, mode) === 'arranged') out.push(d);
  return out.slice(-MAX_EVIDENCE_DAYS);
}

/**
 * Units of the run (school days, or sessions) the school arranged the pupil out of that it counted
 * (`count-inside`): not seen, but no absence — the run's count less these is the absence itself.
 */
function arrangedUnits(p: PupilAttendance, run: Run, set: Uint8Array, mode: NotExpectedDays): number {
  if (mode !== 'count-inside') return 0;
  let n = 0;
  for (let u = run.first; u <= run.last; u++)
    if (unitKind(p, u, set, mode, run.sessions ? 1 : 0) === 'arranged') n++;
  return n;
}

const SESSION_NAME = ['AM', 'PM'] as const;

function runEvidence(p: PupilAttendance, run: Run, set: Uint8Array, mode: NotExpectedDays): Evidence {
  const days: DayEvidence[] = [];
  for (let d = Math.max(run.start, run.end - MAX_EVIDENCE_DAYS + 1); d <= run.end; d++)
    days.push(dayEvidence(p, d));
  const late = timesInLate(p, run);
  const arranged = arrangedDays(p, run, set, mode);
  return {
    from: p.calendar.days[run.start]!,
    to: p.calendar.days[run.end]!,
    // School days: for a run counted in sessions, half its sessions (9.5 for 19).
    count: run.sessions ? run.count / 2 : run.count,
    ...(run.sessions
      ? {
          sessionsCounted: run.count,
          fromSession: SESSION_NAME[run.first & 1]!,
          toSession: SESSION_NAME[run.last & 1]!,
        }
      : {}),
    days,
    // Days the school arranged the pupil out of, counted once the absence had begun …
    ...(arranged.length > 0 ? { notExpected: arranged.map((d) => p.calendar.days[d]!) } : {}),
    // Days (sessions) of it the pupil was in school, late (said as unauthorised absence, not "absent") …
    ...(late > 0 ? { seenInSchool: late } : {}),
    // … and whether the latest missed was one: then the child is not missing now (no missing-education exemption).
    ...((run.sessions ? LATE[p.slots[run.missed]!] === 1 : p.anyMarkedIn(run.missed, LATE))
      ? { seenLast: true as const }
      : {}),
  };
}

/**
 * "; 2 of them off the pupil's timetable (C2: 2025-11-20, 2025-11-21), not seen as the absence went
 * on": the days the school arranged the pupil out of that a run counted (`notExpected`), by code.
 */
function notExpectedText(p: PupilAttendance, e: Evidence): string {
  const dates = e.notExpected;
  if (!dates?.length) return '';
  const codes = new Set<string>();
  for (const date of dates) {
    const d = p.calendar.indexOf(date)!;
    for (const c of [p.am(d), p.pm(d)]) if (c === 'C2' || c === 'S') codes.add(c);
  }
  const what = [
    ...(codes.has('C2') ? ["off the pupil's timetable"] : []),
    ...(codes.has('S') ? ['on study leave'] : []),
  ].join(' or ');
  return `; ${dates.length} of them ${what} (${[...codes].join(', ')}: ${namedDates(dates)}), not seen as the absence went on`;
}

/** "2025-11-17, 2025-11-18"; more than five, the first five "and 3 more". */
function namedDates(dates: readonly string[]): string {
  return dates.length > 5 ? `${dates.slice(0, 5).join(', ')} and ${dates.length - 5} more` : dates.join(', ');
}

/** "3 school days", "1 school day"; counted in sessions, "19 sessions (9.5 school days)". */
function amount(n: number, sessions: boolean): string {
  if (!sessions) return `${n} school ${n === 1 ? 'day' : 'days'}`;
  const days = n / 2;
  return `${n} ${n === 1 ? 'session' : 'sessions'} (${days} school ${days === 1 ? 'day' : 'days'})`;
}

/** "2025-11-13 to 2025-11-18"; counted in sessions, "2025-11-03 PM to 2025-11-18 AM". */
function spanText(e: Evidence): string {
  return e.fromSession ? `${e.from} ${e.fromSession} to ${e.to} ${e.toSession}` : `${e.from} to ${e.to}`;
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
  // The statutory returns count sessions: "10 school days" are 20 sessions in a row (`countSessions`).
  const shift = rule.countSessions ? 1 : 0;
  const need = rule.days << shift;
  const current = absenceRun(p, set, todayIndex, mode, shift);
  // A return still to make for a run that has ended (the pupil back): the latest such run this year.
  const ended =
    rule.afterReturn && (!current || current.count < need)
      ? latestEndedRun(
          p,
          set,
          ev.firstIndexFrom(p.calendar, ev.windowStart(ctx, 'academic-year')),
          todayIndex,
          need,
          mode,
          // Counted back no further than the summer term's last weeks: a calendar that does not know
          // last year's spring and summer would otherwise join December's days to September's.
          ev.firstIndexFrom(p.calendar, addDays(ev.windowStart(ctx, 'academic-year'), -SUMMER_LOOKBACK_DAYS)),
          shift,
        )
      : null;
  const run = ended ?? current;
  const n = run ? run.count : 0;
  const sessions = shift === 1;
  // "No reason on the latest day" (Lime Hills: "absent … for a week or more, and attempts to contact
  // parents/carers have not elicited a response"): the length of the absence counts every absent
  // day, reasoned or not; "not elicited a response" is the state now — the latest absent day has no
  // reason recorded, whatever reasons earlier days of the same absence had.
  const noReason = rule.noReasonOnLatestDay ? ev.noReasonSet(set) : null;
  // The latest day the pupil missed: a day the school arranged them out of after it says nothing of contact.
  const missedDay = run ? run.missed >> shift : -1;
  const unanswered = run !== null && (noReason === null || p.allMarkedIn(missedDay, noReason));
  const fires = run !== null && n >= need && unanswered && (!rule.flags || p.hasAnyFlag(rule.flags));
  const evidence: Evidence =
    run && (fires || ctx.explain)
      ? { ...runEvidence(p, run, set, mode), ...(ended ? { ended: true as const } : {}) }
      : {};
  if (rule.flags && !p.hasAnyFlag(rule.flags)) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain ? '' : `the pupil has none of the flags ${rule.flags.join(', ')}`,
    };
  }
  if (!run || n < need) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain
        ? ''
        : `absent ${amount(n, sessions)} in a row${rule.noReasonRecorded ? ' with no reason recorded' : ''}; the rule needs ${sessions ? amount(need, true) : rule.days}`,
    };
  }
  if (!unanswered) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain
        ? ''
        : `absent ${amount(n, sessions)} in a row, but the latest (${p.calendar.days[missedDay]}) has a reason recorded`,
    };
  }
  const since =
    noReason !== null
      ? `; no reason recorded since ${p.calendar.days[unansweredSince(p, noReason, run, missedDay)]}`
      : '';
  const light = rule.whenReasonedEachDay;
  let lighter: { action: NonNullable<RuleOutcome['action']>; role: string } | undefined;
  let why = '';
  if (light) {
    // "Contact has been made from parents/carers for each day of absence": every absent session
    // of every day of the run carries a reason a parent gives (the code table), not just any code.
    const parent = light.reasonCodes ? ev.setFor({ codes: light.reasonCodes }, PARENT_REASON) : PARENT_REASON;
    // A school day inside the run with no mark at all (a register not taken, or not synced) is no
    // record of contact that day: not reasoned (fail safe — the visit), and said so by date. A day
    // with only codes that are no session for the triggers (C2, S, a closure) is no absence to reason.
    let reasonEachMarkedDay = true;
    const noRegister: string[] = [];
    for (let d = run.start; d <= run.end; d++) {
      if (p.unmarked(d)) noRegister.push(p.calendar.days[d]!);
      else if (reasonEachMarkedDay && p.hasMark(d)) reasonEachMarkedDay = p.allMarkedIn(d, parent);
    }
    const reasoned = reasonEachMarkedDay && noRegister.length === 0;
    const unreasoned = [
      ...(reasonEachMarkedDay ? [] : ['not every day has a reason from a parent/carer']),
      ...(noRegister.length > 0 ? [`no register for ${namedDates(noRegister)}`] : []),
    ].join(', and ');
    // "No safeguarding or attendance concerns".
    const safeguarding = p.hasAnyFlag(['welfareConcern', 'cpPlan', 'cin', 'lac']);
    const attendance = attendanceConcern(p, light, run.start, ctx, ev);
    // "A phone call home to address 3 days of absence": the days absent, not the days the school
    // arranged the pupil out of (C2, S) that the run counts as not seen (`count-inside`).
    const absent = n - arrangedUnits(p, run, set, mode);
    // Said as it is: "a reason each day" only where every day has one (an O is no reason given).
    if (light.upToDays !== undefined && (sessions ? absent / 2 : absent) > light.upToDays)
      why = reasoned
        ? `; a reason each day, but absent longer than the ${light.upToDays} days a ${light.action} addresses`
        : `; ${unreasoned}, and absent longer than the ${light.upToDays} days a ${light.action} addresses`;
    else if (!reasoned) why = `; ${unreasoned}`;
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
    explanation: `${evidence.seenInSchool ? 'unauthorised absence' : 'absent'} ${amount(n, sessions)} in a row (${spanText(evidence)})${notExpectedText(p, evidence)}${evidence.seenInSchool ? ` — in school late (U, after the register closed) ${sessions ? 'at' : 'on'} ${evidence.seenInSchool} of them` : ''}${since}${why}${back}`,
    ...(lighter ? { action: lighter.action, role: lighter.role } : {}),
  };
}

/**
 * Possible and attended sessions from day `first` to `last`, over the sessions the pupil was expected
 * at: a session that is no session for the visit triggers (`PupilAttendance.runSession` passes it
 * over — a closure, a part-time timetable `C2`, study leave `S`, a not-possible code such as `D`, no
 * mark) is in neither. Not the statutory rate (`EvaluationCaches.sessionCounts`, where `C2` and `S`
 * are authorised absence): a part-time pupil who attends every timetabled session has no attendance
 * concern.
 */
function expectedSessionCounts(p: PupilAttendance, first: number, last: number) {
  let possible = 0;
  let attended = 0;
  for (let s = first * 2; s <= last * 2 + 1; s++) {
    const unit = p.runSession(s, ATTENDED, 'pass-over');
    if (unit === 'skip') continue;
    possible++;
    if (unit === 'count') attended++;
  }
  return { possible, attended };
}

/**
 * The attendance concern the pack names, if the pupil has it: the rate before the run began, over
 * the sessions the pupil was expected at (`expectedSessionCounts`).
 */
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
  const { possible, attended } = expectedSessionCounts(p, first, runStart - 1);
  if (possible < light.attendanceConcernMinSessions) return null;
  const rate = attended / possible;
  return rate <= light.attendanceConcernAtMost
    ? `attendance ${pct(rate)} this year before this absence, at most ${pct(light.attendanceConcernAtMost)}`
    : null;
}
