import type { SchoolCalendar } from '../calendar.ts';
import type { Evidence } from '../triggers/finding.ts';
import { ATTENDED_CATEGORIES, type Category, CODES, NOT_POSSIBLE_CATEGORY } from './codes.ts';
import { addDays, weekday } from './dates.ts';

/**
 * One pupil's academic year as the safeguarding team reads it: every weekday from 1 September to
 * today with its AM and PM marks and their statutory category, whether the school met, and whether a
 * trigger counted the day; the attendance rate so far and its course week by week. Counted as the
 * trigger rules count: only school days, "possible" sessions are the marked ones less those where
 * attendance was not required or not possible, "attended" is present or an approved educational
 * activity. Pure: marks, calendar and today come in.
 */
export interface StoredMark {
  date: string;
  session: 'AM' | 'PM';
  code: string;
}

export interface SessionMark {
  code: string;
  category: Category;
  meaning: string;
}

export interface YearDay {
  date: string;
  /** The school calendar says the school met. */
  schoolDay: boolean;
  am: SessionMark | null;
  pm: SessionMark | null;
  /** A trigger (open or past) counted this day. */
  counted: boolean;
}

export interface YearMonth {
  /** `YYYY-MM` */
  month: string;
  /** Rows Monday to Friday; null pads the first and last week. */
  weeks: (YearDay | null)[][];
}

export interface SessionCount {
  possible: number;
  attended: number;
  /** attended / possible, or null with no possible session. */
  rate: number | null;
}

export interface YearWeek extends SessionCount {
  /** The Monday of the week. */
  monday: string;
  /** The rate from 1 September to the end of this week. */
  toDate: SessionCount;
}

export interface PupilYear {
  from: string;
  to: string;
  months: YearMonth[];
  total: SessionCount & { byCategory: Record<Category, number> };
  weeks: YearWeek[];
}

/** The statutory categories in the words the page uses (the DfE's groups of codes). */
export const CATEGORY_WORDS: Readonly<Record<Category, string>> = {
  present: 'Present',
  approved_activity: 'Approved educational activity',
  authorised_absence: 'Authorised absence',
  unauthorised_absence: 'Unauthorised absence',
  not_possible: 'Attendance not required or not possible',
};

function count(possible: number, attended: number): SessionCount {
  return { possible, attended, rate: possible ? attended / possible : null };
}

function sessionMark(code: string | undefined): SessionMark | null {
  if (code === undefined) return null;
  const info = CODES.get(code);
  // Stored marks hold statutory codes only (imports refuse anything else); guard all the same.
  if (!info) return null;
  return { code, category: info.category, meaning: info.meaning };
}

/**
 * The days a trigger counted, from its evidence: the days or sessions it lists; for a count over a
 * period without a list (illness over a term, a leave period), the days in that period with a mark
 * in the codes it counted (`evidence.codes`: illness, `I`, not every absence), or — evidence written
 * before it named them — with any absence. A rate over a window (`possible`) marks no day.
 */
export function countedDays(evidence: Evidence | null | undefined, marks: readonly StoredMark[]): string[] {
  if (!evidence || evidence.possible !== undefined) return [];
  const listed = [
    ...(evidence.days ?? []).map((d) => d.date),
    ...(evidence.sessions ?? []).map((s) => s.date),
  ].filter((d) => typeof d === 'string');
  if (listed.length) return [...new Set(listed)];
  const { from, to } = evidence;
  if (typeof from !== 'string' || typeof to !== 'string') return [];
  const codes = Array.isArray(evidence.codes) ? new Set(evidence.codes) : null;
  return [...absentDaysOf(marks, codes)].filter((d) => d >= from && d <= to).sort();
}

/** Dates with an absence mark (authorised or unauthorised) in either session; only of `codes` when given. */
export function absentDaysOf(
  marks: readonly StoredMark[],
  codes: ReadonlySet<string> | null = null,
): Set<string> {
  const out = new Set<string>();
  for (const m of marks) {
    const c = CODES.get(m.code)?.category;
    if (codes ? codes.has(m.code) : c === 'authorised_absence' || c === 'unauthorised_absence')
      out.add(m.date);
  }
  return out;
}

/** The pupil's year from `from` (1 September) to `today`, weekdays only. */
export function pupilYear(
  marks: readonly StoredMark[],
  calendar: SchoolCalendar,
  from: string,
  today: string,
  counted: ReadonlySet<string>,
): PupilYear {
  const byDate = new Map<string, { AM?: string; PM?: string }>();
  for (const m of marks) {
    if (m.date < from || m.date > today) continue;
    const d = byDate.get(m.date) ?? {};
    d[m.session] = m.code;
    byDate.set(m.date, d);
  }
  const byCategory: Record<Category, number> = {
    present: 0,
    approved_activity: 0,
    authorised_absence: 0,
    unauthorised_absence: 0,
    not_possible: 0,
  };
  const months: YearMonth[] = [];
  const weeks: YearWeek[] = [];
  let possible = 0;
  let attended = 0;
  type Week = { monday: string; possible: number; attended: number; schoolDays: number };
  let week: Week | null = null as Week | null;
  const closeWeek = (week: Week | null) => {
    if (week?.schoolDays)
      weeks.push({
        monday: week.monday,
        ...count(week.possible, week.attended),
        toDate: count(possible, attended),
      });
  };
  for (let date = from; date <= today; date = addDays(date, 1)) {
    const wd = weekday(date);
    if (wd === 0 || wd === 6) continue;
    const monday = addDays(date, 1 - wd);
    if (week?.monday !== monday) {
      closeWeek(week);
      week = { monday, possible: 0, attended: 0, schoolDays: 0 };
    }
    const schoolDay = calendar.isSchoolDay(date);
    const raw = byDate.get(date);
    const day: YearDay = {
      date,
      schoolDay,
      am: sessionMark(raw?.AM),
      pm: sessionMark(raw?.PM),
      counted: counted.has(date),
    };
    if (schoolDay) {
      week.schoolDays++;
      for (const s of [day.am, day.pm]) {
        if (!s) continue;
        byCategory[s.category]++;
        if (s.category === NOT_POSSIBLE_CATEGORY) continue;
        possible++;
        week.possible++;
        if (ATTENDED_CATEGORIES.has(s.category)) {
          attended++;
          week.attended++;
        }
      }
    }
    const month = date.slice(0, 7);
    let m = months.at(-1);
    if (m?.month !== month) {
      m = { month, weeks: [] };
      months.push(m);
    }
    let row = m.weeks.at(-1);
    // A new row on Mondays and at the start of each month (padded to its weekday).
    if (!row || wd === 1 || row.length === 5) {
      row = Array.from({ length: wd - 1 }, () => null);
      m.weeks.push(row);
    }
    row.push(day);
  }
  closeWeek(week);
  for (const m of months) {
    const last = m.weeks.at(-1);
    while (last && last.length < 5) last.push(null);
  }
  return { from, to: today, months, total: { ...count(possible, attended), byCategory }, weeks };
}
