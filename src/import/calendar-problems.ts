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

  /** Without the marks of pupils the school does not have (those were rejected, not stored). */
  stored(unknownPupils: ReadonlySet<string>): { count: number; first: CalendarProblem[] } {
    let count = 0;
    for (const [pupil, n] of this.perPupil) if (!unknownPupils.has(pupil)) count += n;
    return { count, first: this.kept.filter((p) => !unknownPupils.has(p.pupil)) };
  }
}

/**
 * A whole-school closure the register records on a day the calendar says the school met: marks `#`
 * (planned closure) or `Y4` (site unexpectedly closed — a snow day). The trigger rules already treat
 * such a day as closed (`PupilAttendance`); the calendar should say so too, so the data manager hears
 * of it. A day, a session and a code with how many stored marks say it: no pupil ids.
 */
export interface RegisterClosure {
  date: string;
  session: string;
  code: string;
  marks: number;
}

const MAX_REGISTER_CLOSURES_KEPT = 100;

/** Register closures on days the calendar has open, gathered while parsing (pupils kept to drop the unknown later). */
export class RegisterClosures {
  private readonly groups = new Map<string, { closure: Omit<RegisterClosure, 'marks'>; pupils: string[] }>();

  add(pupil: string, date: string, session: string, code: string): void {
    const key = `${date}|${session}|${code}`;
    let g = this.groups.get(key);
    if (g === undefined) {
      if (this.groups.size >= MAX_REGISTER_CLOSURES_KEPT) return;
      g = { closure: { date, session, code }, pupils: [] };
      this.groups.set(key, g);
    }
    g.pupils.push(pupil);
  }

  /** Without the marks of pupils the school does not have; by date, then session. */
  stored(unknownPupils: ReadonlySet<string>): RegisterClosure[] {
    const out: RegisterClosure[] = [];
    for (const { closure, pupils } of this.groups.values()) {
      const marks = pupils.reduce((n, p) => (unknownPupils.has(p) ? n : n + 1), 0);
      if (marks > 0) out.push({ ...closure, marks });
    }
    return out.sort(
      (a, b) =>
        a.date.localeCompare(b.date) || a.session.localeCompare(b.session) || a.code.localeCompare(b.code),
    );
  }
}
