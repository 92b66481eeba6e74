import { ATTENDED_CATEGORIES, type Category, CODES, NOT_POSSIBLE_CATEGORY } from '../attendance/codes.ts';
import type { SchoolCalendar } from '../calendar.ts';
import type { Flag } from './rules.ts';

/** Every statutory code gets a small number; 0 means "no mark". */
export const CODE_LIST: readonly string[] = ['', ...CODES.keys()];
const CODE_NUMBER = new Map(CODE_LIST.map((c, i) => [c, i]));
export const CATEGORY_OF: readonly (Category | null)[] = CODE_LIST.map((c) =>
  c ? CODES.get(c)!.category : null,
);

export function codeNumber(code: string): number {
  const n = CODE_NUMBER.get(code);
  if (n === undefined) throw new Error(`not a statutory code: ${code}`);
  return n;
}

/** The code numbers of the one-character codes, by character code (0: no such code). */
const ONE_CHAR = new Uint8Array(128);
for (let i = 1; i < CODE_LIST.length; i++) {
  const c = CODE_LIST[i]!;
  if (c.length === 1 && c.charCodeAt(0) < 128) ONE_CHAR[c.charCodeAt(0)] = i;
}

/**
 * `codeNumber(text.slice(start, end))`, without slicing or hashing a one-character code (most
 * marks): a night reads twenty million.
 */
export function codeNumberIn(text: string, start: number, end: number): number {
  if (end - start === 1) {
    const ch = text.charCodeAt(start);
    const n = ch < 128 ? ONE_CHAR[ch]! : 0;
    if (n !== 0) return n;
  }
  return codeNumber(text.slice(start, end));
}

/** A lookup table: code number → member of the set. */
export function codeSet(codes: Iterable<string>): Uint8Array {
  const set = new Uint8Array(CODE_LIST.length);
  for (const c of codes) set[codeNumber(c)] = 1;
  return set;
}

export const ABSENCE = codeSet(CODE_LIST.filter((_c, i) => i > 0 && /absence/.test(CATEGORY_OF[i]!)));
/**
 * Absent and not seen, for visit triggers: every absence code except `U` (arrived after the register
 * closed — an unauthorised absence in the statistics, but the child was seen in school that day).
 */
export const NOT_SEEN_CODES: readonly string[] = CODE_LIST.filter((c, i) => ABSENCE[i] === 1 && c !== 'U');
export const NOT_SEEN = codeSet(NOT_SEEN_CODES);
/**
 * Authorised absence codes whose reason a parent/carer gives (the code table: illness `I`, medical
 * appointment `M`, religious observance `R`, and leave a parent asked for — `C`, `C1`, `J1`, `T`);
 * not `C2` (part-time timetable), `E` (suspension) or `S` (study leave), which the school arranges.
 * "Contact has been made from parents/carers for each day of absence" (Heath Lane §3).
 */
export const PARENT_REASON_CODES: readonly string[] = ['C', 'C1', 'I', 'J1', 'M', 'R', 'T'];
export const PARENT_REASON = codeSet(PARENT_REASON_CODES);
export const AUTHORISED = codeSet(CODE_LIST.filter((_c, i) => CATEGORY_OF[i] === 'authorised_absence'));
/**
 * Absences with no reason established — the family not heard from: `N` (reason not yet established)
 * and `O` (other / unknown). Not `G` (holiday not agreed): the school knows why the pupil is away —
 * the family asked for leave or is known to be on holiday — so a `G` day is no unanswered contact
 * (Lime Hills "attempts to contact parents/carers have not elicited a response"; Heath Lane reads a
 * `G` as a holiday already recorded as one).
 */
export const NO_REASON = codeSet(['N', 'O']);
export const ATTENDED = codeSet(CODE_LIST.filter((_c, i) => ATTENDED_CATEGORIES.has(CATEGORY_OF[i]!)));
export const NOT_POSSIBLE = codeSet(CODE_LIST.filter((_c, i) => CATEGORY_OF[i] === NOT_POSSIBLE_CATEGORY));
/**
 * Codes that say the school, not the pupil, did not meet: `#` (planned whole-school closure) and `Y4`
 * (whole school site unexpectedly closed). attendance.md: "A school day is a day the school meets
 * (term dates, minus closures `#`/INSET)", and of the Y-codes only `Y4` ("whole site closed") is about
 * the whole school; `Y1`–`Y3`, `Y5`–`Y7` (transport, travel disruption, part of the premises, detention,
 * public health, other) say why this pupil could not attend a school that met. A session so coded is
 * no session for the runs and counts, and a day whose every marked session is so coded is not a
 * school day for them, even when the configured calendar does not list the closure.
 */
export const SCHOOL_CLOSED_CODES: readonly string[] = ['#', 'Y4'];
/**
 * Sessions the pupil was not expected at: the school did not meet (`SCHOOL_CLOSED_CODES`), or the
 * school itself arranged that this pupil is out of them — `C2` (an agreed part-time timetable) and
 * `S` (study leave). The school knows where the child is and why, so for the visit triggers such a
 * session is no session, as a closure is: a part-time pupil is not "not seen" on the days the
 * timetable leaves them at home (a home visit every week), a day they missed their timetabled
 * morning counts by that morning, and their off-timetable days neither start nor end a run (they
 * extend one only where the rule counts them once the absence has begun: `count-inside`). They
 * are still authorised absences in the statistics (the attendance rate counts them). `E`
 * (suspension) is not here: a suspended child is at home, but not seen, and the school must still
 * know they are safe.
 */
export const NOT_EXPECTED_CODES: readonly string[] = [...SCHOOL_CLOSED_CODES, 'C2', 'S'];
/**
 * Sessions that are no session for the visit triggers' runs and counts: those the pupil was not
 * expected at (`NOT_EXPECTED_CODES`) and every code the statutory table counts as "not possible" —
 * `D` (at the school they are dual registered with), `X`, `Q`, `Y1`–`Y7`, `Z`, `#`. Such a session
 * neither counts towards a run of absence nor ends one: a dual-registered pupil away from this school
 * on every one of its days is absent from it for days in a row, and a snow day (`Y2`) in the middle
 * of ten days of `N` does not make them two runs of five (it did: no 10-day return was prompted).
 */
const NO_SESSION = codeSet([
  ...NOT_EXPECTED_CODES,
  ...CODE_LIST.filter((_c, i) => CATEGORY_OF[i] === NOT_POSSIBLE_CATEGORY),
]);
const SCHOOL_CLOSED = codeSet(SCHOOL_CLOSED_CODES);
/** Sessions the school arranged this pupil out of (`C2` part-time timetable, `S` study leave). */
const ARRANGED = codeSet(['C2', 'S']);
/**
 * Marks that say nothing about whether the pupil was on the school's roll: `Z` (a prospective pupil,
 * not yet on roll) and the whole-school closures (`#`, `Y4`: the school did not meet, for anyone).
 */
const SAYS_NOT_ON_ROLL = codeSet(['Z', ...SCHOOL_CLOSED_CODES]);

/**
 * How a run of absence treats a day the pupil was not expected at, or could not attend — a rule's
 * `sessionsNotExpected`:
 * - `pass-over` (the visit triggers): a day with no counting session (`hasMark`) neither counts nor
 *   ends the run;
 * - `count-inside`: as `pass-over`, but a day the school arranged the pupil out of (`C2`, `S`) once
 *   the absence has begun counts as a day not seen while it goes on — between absent days, and after
 *   the latest one until the pupil next attends (Lime Hills "absent … for a week": a part-time pupil
 *   who misses their timetabled days is not seen all week, not two days of it); never before the
 *   first absent day, and the run still ends at the first attended session;
 * - `end-on-authorised`: "continuous unauthorised absence" (the 10-day return) — an authorised
 *   session (`C2`, `S` among them) ends the run; closures and not-possible sessions pass over;
 * - `end-on-any`: "every session coded G, N or O" (removal from roll, reg. 9(1)(i)) — any session
 *   outside the rule's codes ends the run; only a whole-school closure (`#`, `Y4`) passes over.
 */
export type NotExpectedDays = 'pass-over' | 'count-inside' | 'end-on-authorised' | 'end-on-any';

/** What one day is to a run of absence in `set`: counted, passed over, arranged (C2/S), or the end. */
export type RunDay = 'count' | 'skip' | 'arranged' | 'break';

/**
 * One pupil's marks laid over the school calendar: two slots (AM, PM) per school day, each holding a
 * code number. Compact (one byte per session) so a whole trust evaluates in memory.
 */
export class PupilAttendance {
  readonly pupilId: string;
  readonly flags: Readonly<Partial<Record<Flag, boolean>>>;
  readonly calendar: SchoolCalendar;
  readonly slots: Uint8Array;
  /** Periods for which the school refused term-time leave. */
  readonly refusedLeave: { from: string; to: string }[] = [];
  /** Off roll: the day the pupil left (`YYYY-MM-DD`) and where to, when the MIS says. */
  leaving: { on: string; destination: string | null } | null = null;

  constructor(
    pupilId: string,
    flags: Partial<Record<Flag, boolean>>,
    calendar: SchoolCalendar,
    slots?: Uint8Array,
  ) {
    this.pupilId = pupilId;
    this.flags = flags;
    this.calendar = calendar;
    this.slots = slots ?? new Uint8Array(calendar.days.length * 2);
  }

  /** Records a mark; marks on days the school does not meet are ignored (returns false). */
  set(date: string, session: 'AM' | 'PM', code: string): boolean {
    const i = this.calendar.indexOf(date);
    if (i === undefined) return false;
    this.slots[i * 2 + (session === 'PM' ? 1 : 0)] = codeNumber(code);
    return true;
  }

  am(day: number): string {
    return CODE_LIST[this.slots[day * 2]!]!;
  }

  pm(day: number): string {
    return CODE_LIST[this.slots[day * 2 + 1]!]!;
  }

  /**
   * The day has a mark for a session that counts (`NO_SESSION`: not a closure, an arrangement that
   * leaves this pupil out, or a session the table counts as not possible). A day without one — no
   * mark at all (a missing export, a bank holiday the calendar does not know), or only such codes —
   * neither counts towards a run nor ends one.
   */
  hasMark(day: number): boolean {
    const a = this.slots[day * 2]!;
    const p = this.slots[day * 2 + 1]!;
    return (a !== 0 && NO_SESSION[a] === 0) || (p !== 0 && NO_SESSION[p] === 0);
  }

  /** What day `day` is to a run of absence in `set`, as `mode` treats a day not expected (above). */
  runDay(day: number, set: Uint8Array, mode: NotExpectedDays): RunDay {
    if (mode === 'pass-over' || mode === 'count-inside') {
      if (this.hasMark(day)) return this.allMarkedIn(day, set) ? 'count' : 'break';
      const a = this.slots[day * 2]!;
      const p = this.slots[day * 2 + 1]!;
      return mode === 'count-inside' && (ARRANGED[a] === 1 || ARRANGED[p] === 1) ? 'arranged' : 'skip';
    }
    let counted = false;
    for (const c of [this.slots[day * 2]!, this.slots[day * 2 + 1]!]) {
      if (c === 0 || SCHOOL_CLOSED[c] === 1) continue;
      if (set[c] === 1) counted = true;
      else if (mode === 'end-on-any' || NO_SESSION[c] === 0 || ARRANGED[c] === 1) return 'break';
    }
    return counted ? 'count' : 'skip';
  }

  /**
   * What session `s` (its index in `slots`: day × 2, + 1 for the afternoon) is to a run of absence
   * in `set` counted in sessions (`countSessions`), as `mode` treats a session not expected — the
   * same judgement `runDay` makes of each session of a day. A session with no mark is `skip`: it
   * neither counts nor ends the run.
   */
  runSession(s: number, set: Uint8Array, mode: NotExpectedDays): RunDay {
    const c = this.slots[s]!;
    if (c === 0 || SCHOOL_CLOSED[c] === 1) return 'skip';
    if (mode === 'pass-over' || mode === 'count-inside') {
      if (NO_SESSION[c] === 1) return mode === 'count-inside' && ARRANGED[c] === 1 ? 'arranged' : 'skip';
      return set[c] === 1 ? 'count' : 'break';
    }
    if (set[c] === 1) return 'count';
    return mode === 'end-on-any' || NO_SESSION[c] === 0 || ARRANGED[c] === 1 ? 'break' : 'skip';
  }

  /**
   * The register has the pupil on roll that day: a session with any mark but `Z` (not yet on roll) or
   * a whole-school closure (`#`, `Y4`). Unlike `hasMark`, a session the pupil was not expected at
   * (`C2` part-time timetable, `S`) or could not attend (`D` at the school they are dual registered
   * with, `Y1`–`Y3`, `Y5`–`Y7`, `X`, `Q`) counts: the school keeps a register for them, so they are on
   * its roll.
   */
  onRoll(day: number): boolean {
    const a = this.slots[day * 2]!;
    const p = this.slots[day * 2 + 1]!;
    return (a !== 0 && SAYS_NOT_ON_ROLL[a] === 0) || (p !== 0 && SAYS_NOT_ON_ROLL[p] === 0);
  }

  /** The first day (index) the register has the pupil on roll (`onRoll`), or -1. */
  firstOnRollDay(): number {
    const days = this.slots.length / 2;
    for (let d = 0; d < days; d++) if (this.onRoll(d)) return d;
    return -1;
  }

  /** The day has no mark at all, in either session (not even a closure or arrangement code). */
  unmarked(day: number): boolean {
    return this.slots[day * 2] === 0 && this.slots[day * 2 + 1] === 0;
  }

  /**
   * The register says the school did not meet that day for this pupil: every marked session carries
   * a whole-school closure code (`#`, `Y4`). Such a day is no school day in a count of school days
   * (the 5 school days in which an `N` must be resolved are the school's, not the pupil's timetable's).
   */
  schoolClosedDay(day: number): boolean {
    const a = this.slots[day * 2]!;
    const p = this.slots[day * 2 + 1]!;
    return (a !== 0 || p !== 0) && (a === 0 || SCHOOL_CLOSED[a] === 1) && (p === 0 || SCHOOL_CLOSED[p] === 1);
  }

  /**
   * Every counting session of the day is in `set` (and at least one counts). A session that is no
   * session (`NO_SESSION`) is left out: a day open in the morning only, a part-time pupil's day of
   * mornings, or a morning at the other school they are registered with, counts by the other session.
   */
  allMarkedIn(day: number, set: Uint8Array): boolean {
    let a = this.slots[day * 2]!;
    let p = this.slots[day * 2 + 1]!;
    if (NO_SESSION[a] === 1) a = 0;
    if (NO_SESSION[p] === 1) p = 0;
    if (a === 0 && p === 0) return false;
    return (a === 0 || set[a] === 1) && (p === 0 || set[p] === 1);
  }

  anyMarkedIn(day: number, set: Uint8Array): boolean {
    return set[this.slots[day * 2]!] === 1 || set[this.slots[day * 2 + 1]!] === 1;
  }

  /** The last day on or before `today` (index) that has a mark (a closure code is none), or -1. */
  lastMarkedDay(todayIndex: number): number {
    for (let d = todayIndex; d >= 0; d--) if (this.hasMark(d)) return d;
    return -1;
  }

  /**
   * The day `n` school days before day `day` (an index, below 0 when the calendar runs out), not
   * counting days the register says the school did not meet (`schoolClosedDay`). With no such day it
   * is `day - n`.
   */
  schoolDaysBefore(day: number, n: number): number {
    let d = day;
    for (let k = 0; k < n && d >= 0; ) {
      d--;
      if (d < 0 || !this.schoolClosedDay(d)) k++;
    }
    return d;
  }

  hasAnyFlag(flags: readonly Flag[]): boolean {
    return flags.some((f) => this.flags[f] === true);
  }
}
