/** Calendar dates as `YYYY-MM-DD` strings (a school day has no time zone problem). Pure. */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isIsoDate(s: string): boolean {
  const m = ISO_DATE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/**
 * The same day `months` calendar months before `date`, clamped to the end of a shorter month (31 May
 * → 28 February, not "31 February" = 3 March): a window of three months ending 31 May starts on
 * 1 March (Thames View 4.4: "over the course of three months").
 */
export function monthsBefore(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const first = new Date(Date.UTC(y, m - 1 - months, 1));
  const lastDay = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(d, lastDay));
  return first.toISOString().slice(0, 10);
}

/** 0 = Sunday … 6 = Saturday */
export function weekday(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/**
 * Two or four decimal digits of `s` from `at`, as a number (no string made: importing asks per mark);
 * NaN where one is not a digit, as `Number` gives.
 */
function digits(s: string, at: number, count: 2 | 4): number {
  let n = 0;
  for (let k = at; k < at + count; k++) {
    const d = s.charCodeAt(k) - 48;
    if (!(d >= 0 && d <= 9)) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

/** The English academic year a date falls in, named by its starting year: 2025-01-13 → 2024. */
export function academicYearOf(date: string): number {
  const year = digits(date, 0, 4);
  return digits(date, 5, 2) >= 9 ? year : year - 1;
}

/**
 * Days from 1970-01-01 to a valid ISO date (`Date.UTC(…) / 86_400_000`, by arithmetic: the days
 * before the year from March, as the proleptic Gregorian calendar counts them).
 */
export function dayNumber(date: string): number {
  const m = digits(date, 5, 2);
  const y = digits(date, 0, 4) - (m <= 2 ? 1 : 0);
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + digits(date, 8, 2) - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

// Made once: building an Intl.DateTimeFormat costs far more than formatting with one (the board,
// the visit watcher and every trigger evaluation ask for London's date and time).
let dateInLondon: Intl.DateTimeFormat | undefined;
let timeInLondon: Intl.DateTimeFormat | undefined;

/** `YYYY-MM-DD` of an instant in Europe/London. */
export function londonDate(instant: Date): string {
  dateInLondon ??= new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Europe/London',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  return dateInLondon.format(instant);
}

/** `14:05`: an instant's time of day in Europe/London. */
export function londonClock(instant: Date): string {
  timeInLondon ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/London',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return timeInLondon.format(instant);
}

/** Minutes after midnight of an instant in Europe/London (e.g. 18:30 → 1110). */
export function londonMinutes(instant: Date): number {
  const [h, m] = londonClock(instant).split(':').map(Number);
  return h! * 60 + m!;
}
