import { dayNumber } from '../domain/attendance/dates.ts';

/**
 * The pupil × date × session keys an import unit has given so far, to notice a repeated session
 * while the unit is read (so marks can be applied as they arrive, group by group, and a repeat —
 * identical or conflicting — is still found across groups). One bit per session per pupil over the
 * accepted academic years: 2,000 pupils × one year is under 200 KB. Bounded: past MAX_PUPILS pupils
 * (a school has a few thousand; a file of made-up ids may have millions) a new pupil's key counts
 * as a repeat, which sends the unit down the staged path that needs no memory here.
 */
const MAX_PUPILS = 100_000;

export class UnitKeys {
  private readonly seen = new Map<string, Uint8Array>();
  private readonly firstDay: number;
  private readonly sessions: number;
  private lastDate = '';
  private lastDay = 0;
  /** Keys given more than once (or that could not be placed: counted as repeats, to be safe). */
  repeats = 0;

  /** `academicYears`: the years (by starting year) whose dates the unit may hold. */
  constructor(academicYears: ReadonlySet<number>) {
    const years = [...academicYears];
    const first = Math.min(...years);
    const last = Math.max(...years);
    this.firstDay = Date.UTC(first, 8, 1) / 86_400_000;
    this.sessions = (Date.UTC(last + 1, 8, 1) / 86_400_000 - this.firstDay) * 2;
  }

  /** Records one key (`date` as YYYY-MM-DD); true when the unit gave it before. */
  add(pupil: string, date: string, session: 'AM' | 'PM'): boolean {
    // A day's two sessions come one after the other: its number is worked out once.
    if (date !== this.lastDate) {
      this.lastDay = dayNumber(date) - this.firstDay;
      this.lastDate = date;
    }
    const day = this.lastDay;
    const bit = day * 2 + (session === 'PM' ? 1 : 0);
    if (!(bit >= 0 && bit < this.sessions)) {
      this.repeats++;
      return true;
    }
    let bits = this.seen.get(pupil);
    if (!bits && this.seen.size >= MAX_PUPILS) {
      this.repeats++;
      return true;
    }
    if (!bits) {
      bits = new Uint8Array(Math.ceil(this.sessions / 8));
      this.seen.set(pupil, bits);
    }
    const mask = 1 << (bit & 7);
    if (bits[bit >> 3]! & mask) {
      this.repeats++;
      return true;
    }
    bits[bit >> 3]! |= mask;
    return false;
  }
}
