import { academicYearOf, addDays, weekday } from './attendance/dates.ts';

/**
 * A school's calendar: the days it meets. A school day is a weekday inside a term that is not a
 * closure (INSET day, bank holiday, planned or emergency closure). Pure; dates are `YYYY-MM-DD`.
 * "3 school days" never counts weekends, holidays or closures.
 */
export interface Term {
  start: string;
  end: string;
}

export interface Closure {
  from: string;
  to: string;
  kind: 'inset' | 'bank-holiday' | 'closure';
  note?: string | undefined;
}

export interface CalendarSpec {
  terms: readonly Term[];
  closures: readonly Closure[];
}

/**
 * Why the calendar says the school did not meet on a day: a closure (with its kind and note), a
 * weekend, a holiday between two terms, or before the first / after the last term of that academic
 * year. Only academic years the terms cover are judged on terms: a school that entered this year's
 * terms only is not told that every mark of last year falls outside a term.
 */
export interface ClosedDay {
  kind: Closure['kind'] | 'weekend' | 'holiday' | 'before-term' | 'after-term';
  note?: string | undefined;
}

export class SchoolCalendar {
  /** Every school day, ascending. */
  readonly days: readonly string[];
  private readonly index: ReadonlyMap<string, number>;
  readonly spec: CalendarSpec;
  /** Answers that depend only on this calendar, remembered (rule evaluation asks them per pupil). */
  private readonly remembered = {
    onOrAfter: new Map<string, number>(),
    weekLastYear: new Map<number, number[]>(),
  };

  constructor(spec: CalendarSpec) {
    this.spec = spec;
    const days: string[] = [];
    const terms = [...spec.terms].sort((a, b) => a.start.localeCompare(b.start));
    for (const t of terms) {
      for (let d = t.start; d <= t.end; d = addDays(d, 1)) {
        const wd = weekday(d);
        if (wd === 0 || wd === 6) continue;
        if (spec.closures.some((c) => d >= c.from && d <= c.to)) continue;
        days.push(d);
      }
    }
    this.days = days;
    this.index = new Map(days.map((d, i) => [d, i]));
  }

  isSchoolDay(date: string): boolean {
    return this.index.has(date);
  }

  /** Why `date` is not a school day, or undefined when it is one (or the calendar cannot tell). */
  whyClosed(date: string): ClosedDay | undefined {
    if (this.index.has(date)) return undefined;
    const closure = this.spec.closures.find((c) => date >= c.from && date <= c.to);
    if (closure) return { kind: closure.kind, ...(closure.note ? { note: closure.note } : {}) };
    const wd = weekday(date);
    if (wd === 0 || wd === 6) return { kind: 'weekend' };
    const year = academicYearOf(date);
    const yearStart = `${year}-09-01`;
    const yearEnd = `${year + 1}-08-31`;
    const terms = this.spec.terms.filter((t) => t.start <= yearEnd && t.end >= yearStart);
    if (terms.length === 0) return undefined;
    if (terms.some((t) => date >= t.start && date <= t.end)) return undefined;
    if (terms.every((t) => date < t.start)) return { kind: 'before-term' };
    if (terms.every((t) => date > t.end)) return { kind: 'after-term' };
    return { kind: 'holiday' };
  }

  /** Position of a school day in `days`, or undefined. */
  indexOf(date: string): number | undefined {
    return this.index.get(date);
  }

  /** The last school day on or before `date` (index), or -1. */
  indexOnOrBefore(date: string): number {
    let lo = 0;
    let hi = this.days.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.days[mid]! <= date) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** The first school day on or after `date` (index; `days.length` when there is none). */
  indexOnOrAfter(date: string): number {
    let i = this.remembered.onOrAfter.get(date);
    if (i === undefined) {
      i = this.indexOnOrBefore(addDays(date, -1)) + 1;
      this.remembered.onOrAfter.set(date, i);
    }
    return i;
  }

  /** School days (indexes) of the week 52 weeks before school day `d`, Monday to Friday. */
  sameWeekLastYear(d: number): readonly number[] {
    let week = this.remembered.weekLastYear.get(d);
    if (!week) {
      const sameDayLastYear = addDays(this.days[d]!, -364);
      const monday = addDays(sameDayLastYear, 1 - weekday(sameDayLastYear));
      week = [];
      for (let k = 0; k < 5; k++) {
        const i = this.indexOf(addDays(monday, k));
        if (i !== undefined) week.push(i);
      }
      this.remembered.weekLastYear.set(d, week);
    }
    return week;
  }

  /** School days in [from, to], inclusive. */
  between(from: string, to: string): string[] {
    const a = this.indexOnOrBefore(addDays(from, -1)) + 1;
    const b = this.indexOnOrBefore(to);
    return this.days.slice(a, b + 1);
  }

  /** The `n` school days ending with `date` (or the last school day before it). */
  lastSchoolDays(date: string, n: number): string[] {
    const end = this.indexOnOrBefore(date);
    return this.days.slice(Math.max(0, end - n + 1), end + 1);
  }
}

/** Weekdays only, Monday–Friday, from `from` to `to`: for schools that have not entered their terms. */
export function weekdaysCalendar(from: string, to: string): SchoolCalendar {
  return new SchoolCalendar({ terms: [{ start: from, end: to }], closures: [] });
}
