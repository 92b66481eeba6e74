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
