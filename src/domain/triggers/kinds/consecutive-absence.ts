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
  /**
   * School days counted; for a run counted in sessions, half-days: each session counts its share
   * of the pupil's possible sessions that day (`unitWeight`) — 2 on a day with one possible session,
   * 1 on a day with two.
   */
  count: number;
  /** The units counted: school days, or sessions (`sessions`). */
  units: number;
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

/**
 * What unit `u` adds to a run's `count`: a school day 1; a session (`shift` 1) its share of the
 * school day, in half-days — 2 where the day's other session is one the run passes over as no
 * session (a not-possible code such as `D` or `X`, a closure: `runSession`'s `skip` for a marked
 * session), so a day whose one possible session is absent is a whole school day absent; else 1,
 * so a day's morning alone is half of it (nine days and a morning are not 10). A session with no
 * mark yet (this afternoon's before its register) is a possible one: the morning is half the day.
 */
function unitWeight(p: PupilAttendance, u: number, set: Uint8Array, mode: NotExpectedDays, shift: 0 | 1) {
  if (shift === 0) return 1;
  const other = u ^ 1;
  return p.slots[other] !== 0 && p.runSession(other, set, mode) === 'skip' ? 2 : 1;
}

function toRun(first: number, last: number, count: number, units: number, missed: number, shift: 0 | 1): Run {
  return {
    start: first >> shift,
    end: last >> shift,
    count,
    units,
    first,
    last,
    missed,
    sessions: shift === 1,
  };
}

/**
 * The run of absence ending with the latest unit that counts: school days (`shift` 0) whose every
 * counting session is in `set`, or sessions (`shift` 1) in `set`, in a row. How a unit with no
 * counting session is taken — a closure `#`/`Y4`, an arrangement `C2`/`S`, a not-possible code such
 * as `D` or `Y2`, no mark — is the rule's `sessionsNotExpected` (`PupilAttendance.runDay`,
 * `runSession`); `units` counts the units that count, `count` what they weigh (`unitWeight`).
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
  let tailWeight = 0;
  let tailLast = -1;
  let k = last >= 0 ? unitKind(p, last, set, mode, shift) : 'break';
  while (last >= 0 && (k === 'skip' || k === 'arranged')) {
    if (k === 'arranged') {
      if (tail++ === 0) tailLast = last;
      tailWeight += unitWeight(p, last, set, mode, shift);
    }
    last--;
    if (last >= 0) k = unitKind(p, last, set, mode, shift);
  }
  if (last < 0 || k !== 'count') return null;
  let first = last;
  let units = 1;
  let count = unitWeight(p, last, set, mode, shift);
  let gap = 0;
  let arranged = 0;
  let arrangedWeight = 0;
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
      arrangedWeight += unitWeight(p, u, set, mode, shift);
      continue;
    }
    if (unit === 'break') break;
    first = u;
    units += 1 + arranged;
    count += unitWeight(p, u, set, mode, shift) + arrangedWeight;
    arranged = 0;
    arrangedWeight = 0;
  }
  return tail > 0
    ? toRun(first, tailLast, count + tailWeight, units + tail, last, shift)
    : toRun(first, last, count, units, last, shift);
}

/** How far before the academic year a run that ends in it is counted back (the summer holiday and a week). */
const SUMMER_LOOKBACK_DAYS = 70;

/** School days in a row with no mark at all that a run passes over (a week); more end it. */
const MAX_UNMARKED_DAYS = 5;

/**
 * The latest run that counts at least `min` (`Run.count`) that ended this academic year (on or after day `first`)
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
  type Open = { first: number; last: number; count: number; units: number; missed: number };
  let run: Open | null = null;
  let gap = 0;
  // Arranged units (`count-inside`) since the run's latest absent one: counted once another follows,
  // or when the run ends — the absence went on through them.
  let arranged = 0;
  let arrangedWeight = 0;
  let arrangedLast = -1;
  const keep = (r: Open | null) => {
    if (r && arranged > 0)
      r = { ...r, last: arrangedLast, count: r.count + arrangedWeight, units: r.units + arranged };
    if (r && r.count >= min && r.last >> shift >= first)
      found = toRun(r.first, r.last, r.count, r.units, r.missed, shift);
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
        arrangedWeight = 0;
      }
    }
    const unit = unitKind(p, u, set, mode, shift);
    if (unit === 'skip') continue;
    if (unit === 'arranged') {
      if (run) {
        arranged++;
        arrangedWeight += unitWeight(p, u, set, mode, shift);
        arrangedLast = u;
      }
      continue;
    }
    if (unit === 'count') {
      const weight = unitWeight(p, u, set, mode, shift);
      run = run
        ? {
            first: run.first,
            last: u,
            count: run.count + weight + arrangedWeight,
            units: run.units + 1 + arranged,
            missed: u,
          }
        : { first: u, last: u, count: weight, units: 1, missed: u };
    } else {
      keep(run);
      run = null;
    }
    arranged = 0;
    arrangedWeight = 0;
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
 * What the units of the run (school days, or sessions) the school arranged the pupil out of that it
 * counted (`count-inside`) weigh in its `count`: not seen, but no absence — the run's count less
 * this is the absence itself.
 */
function arrangedUnits(p: PupilAttendance, run: Run, set: Uint8Array, mode: NotExpectedDays): number {
  if (mode !== 'count-inside') return 0;
  const shift = run.sessions ? 1 : 0;
  let n = 0;
  for (let u = run.first; u <= run.last; u++)
    if (unitKind(p, u, set, mode, shift) === 'arranged') n += unitWeight(p, u, set, mode, shift);
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
    // School days: for a run counted in sessions, each day's share of its possible sessions (9.5
    // for nine days and a morning; 12 for 12 mornings whose afternoons were not possible, `D`).
    count: run.sessions ? run.count / 2 : run.count,
    ...(run.sessions
      ? {
          sessionsCounted: run.units,
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

/**
 * "3 school days", "1 school day"; counted in sessions, "19 sessions (9.5 school days)", "12
 * sessions (12 school days)" for 12 mornings whose afternoons were not possible.
 */
function amount(run: Run | null): string {
  const n = run ? run.count : 0;
  if (!run?.sessions) return `${n} school ${n === 1 ? 'day' : 'days'}`;
  const days = n / 2;
  return `${run.units} ${run.units === 1 ? 'session' : 'sessions'} (${days} school ${days === 1 ? 'day' : 'days'})`;
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
  // The statutory returns count sessions (`countSessions`), each its share of the pupil's possible
  // sessions that day, in half-days (`unitWeight`): "10 school days" are 20 half-days in a row — 20
  // sessions, or 10 mornings whose afternoons were not possible (`D`, `X`), or any mix.
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
        : `absent ${amount(run)} in a row${rule.noReasonRecorded ? ' with no reason recorded' : ''}; the rule needs ${sessions ? `${rule.days} school ${rule.days === 1 ? 'day' : 'days'}` : rule.days}`,
    };
  }
  if (!unanswered) {
    return {
      fired: false,
      evidence,
      explanation: !ctx.explain
        ? ''
        : `absent ${amount(run)} in a row, but the latest (${p.calendar.days[missedDay]}) has a reason recorded`,
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
    explanation: `${evidence.seenInSchool ? 'unauthorised absence' : 'absent'} ${amount(run)} in a row (${spanText(evidence)})${notExpectedText(p, evidence)}${evidence.seenInSchool ? ` — in school late (U, after the register closed) ${sessions ? 'at' : 'on'} ${evidence.seenInSchool} of them` : ''}${since}${why}${back}`,
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
