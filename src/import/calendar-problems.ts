import type { ClosedDay } from '../domain/calendar.ts';

/**
 * A mark on a day the school's calendar says it did not meet (INSET, bank holiday, closure, weekend,
 * holiday, before or after term). The mark is kept — the school may have opened on a day the config
 * does not know — but the trigger rules count only school days, so it is ignored until the calendar
 * is corrected (or the MIS is). Ids and positions only: no names.
 */
export interface CalendarProblem {
  where: string;
  pupil: string;
  date: string;
  session: string;
  code: string;
  closed: ClosedDay['kind'];
  note?: string;
}

const MAX_CALENDAR_PROBLEMS_KEPT = 1000;

/** Marks on closed days, gathered while parsing; counted per pupil so unknown pupils drop out later. */
export class CalendarProblems {
  private readonly perPupil = new Map<string, number>();
  private readonly kept: CalendarProblem[] = [];

  add(p: CalendarProblem): void {
    this.perPupil.set(p.pupil, (this.perPupil.get(p.pupil) ?? 0) + 1);
    if (this.kept.length < MAX_CALENDAR_PROBLEMS_KEPT) this.kept.push(p);
  }

  /** The pupils noted under another id (a CTF's UPN) under their MIS id (`from` → `to`). */
  renamePupils(to: ReadonlyMap<string, string>): void {
    if (to.size === 0) return;
    const counts = [...this.perPupil];
    this.perPupil.clear();
    for (const [pupil, n] of counts) {
      const id = to.get(pupil) ?? pupil;
      this.perPupil.set(id, (this.perPupil.get(id) ?? 0) + n);
    }
    for (const p of this.kept) p.pupil = to.get(p.pupil) ?? p.pupil;
  }

  /** Without the marks of pupils the school does not have (those were rejected, not stored). */
  stored(unknownPupils: ReadonlySet<string>): { count: number; first: CalendarProblem[] } {
    let count = 0;
    for (const [pupil, n] of this.perPupil) if (!unknownPupils.has(pupil)) count += n;
    return { count, first: this.kept.filter((p) => !unknownPupils.has(p.pupil)) };
  }
}

/**
 * A whole-school closure the register records on a day the calendar has as a school day: every
 * session of the day, AM and PM, carries `#` (planned closure) or `Y4` (site unexpectedly closed — a
 * snow day) for some pupils. The trigger rules already treat such a day as closed (`PupilAttendance`);
 * the calendar should list it too (a closure for part of a day is not one: the day counts by the
 * session the school met, and the calendar has no half days). The day, its codes, and how many stored
 * marks and pupils say so — no pupil ids.
 */
export interface RegisterClosure {
  date: string;
  codes: string[];
  marks: number;
  pupils: number;
}

const MAX_REGISTER_CLOSURES_KEPT = 100;

/** Closure marks on the calendar's school days, gathered while parsing (pupils kept to drop the unknown later). */
export class RegisterClosures {
  private readonly days = new Map<string, { codes: Set<string>; am: string[]; pm: string[] }>();

  add(pupil: string, date: string, session: string, code: string): void {
    let d = this.days.get(date);
    if (d === undefined) {
      d = { codes: new Set(), am: [], pm: [] };
      this.days.set(date, d);
    }
    d.codes.add(code);
    (session === 'PM' ? d.pm : d.am).push(pupil);
  }

  /** The pupils noted under another id (a CTF's UPN) under their MIS id (`from` → `to`). */
  renamePupils(to: ReadonlyMap<string, string>): void {
    if (to.size === 0) return;
    for (const d of this.days.values()) {
      d.am = d.am.map((p) => to.get(p) ?? p);
      d.pm = d.pm.map((p) => to.get(p) ?? p);
    }
  }

  /**
   * The days closed in both sessions, without the marks of pupils the school does not have; by date,
   * the first 100 kept with the count of all.
   */
  stored(unknownPupils: ReadonlySet<string>): { count: number; first: RegisterClosure[] } {
    const all: RegisterClosure[] = [];
    for (const [date, d] of this.days) {
      const am = d.am.filter((p) => !unknownPupils.has(p));
      const pm = d.pm.filter((p) => !unknownPupils.has(p));
      if (am.length === 0 || pm.length === 0) continue;
      all.push({
        date,
        codes: [...d.codes].sort(),
        marks: am.length + pm.length,
        pupils: new Set([...am, ...pm]).size,
      });
    }
    all.sort((a, b) => a.date.localeCompare(b.date));
    return { count: all.length, first: all.slice(0, MAX_REGISTER_CLOSURES_KEPT) };
  }
}
