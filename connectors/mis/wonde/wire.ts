import * as z from 'zod';
import { isIsoDate, londonDate } from '../../../src/domain/attendance/dates.ts';

/**
 * Wonde v1.0 wire format, from Wonde's published clients (wondeltd/php-client; the Ruby client
 * wondeltd/ruby-client has the same endpoints):
 * - src/Endpoints/BootstrapEndpoint.php: `all($includes, $parameters)` sends `include=a,b` and the
 *   parameters (e.g. `updated_after`, readme.md) as the query; a list answers `{ data: [...],
 *   meta: { pagination: { next, more } } }`;
 * - src/ResultIterator.php: the next page is `meta.pagination.next` (an absolute URL), followed until
 *   it is empty or a page has no rows (valid(): `return (bool) count($this->array)`). Doorstep also
 *   refuses a page with rows that says `more` but gives no `next`, and a page with no rows that says
 *   `more` or gives a `next` (the list does not end there: the pages after it would go unread);
 * - src/Endpoints/Students.php (`students`) with readme.md's `forename`, `surname` and the
 *   `contact_details`, `contacts` and `extended_details` includes; `education_details` carries the
 *   UPN (`upn`) — `upi` is Wonde's own hashed id and is never used as the UPN;
 * - src/Endpoints/Attendance.php (`attendance/session`) with `include=attendance_code`, so the code
 *   comes as `{ data: { code } }` (src/Endpoints/AttendanceCodes.php, readme.md `->code`) instead
 *   of an id; a row whose include is empty (`{ data: null }`, or no code) is that row's fault only;
 * - src/Endpoints/Deletions.php (`deletions`): rows with `id` (readme.md), `type` and the student's
 *   `mis_id` (a string or a number, as in the students list).
 * Dates come as a string or as PHP's `{ date, timezone_type, timezone }`.
 * The published clients define no field names for contacts, addresses or vulnerability flags, so
 * Doorstep does not read them from Wonde (README: connector table).
 */
const dateInput = z.union([
  z.string().max(40),
  z.object({ date: z.string().max(40), timezone: z.string().max(64).nullish() }).loose(),
]);
const schoolDayOfInput = (d: z.output<typeof dateInput>) =>
  schoolDayOf(typeof d === 'string' ? d : d.date, typeof d === 'string' ? null : d.timezone);

/** The shapes of a date the connector reads (`schoolDayOf`), as a refusal says them. */
export const DATE_SHAPES = 'a date as YYYY-MM-DD, its time (if any) in Europe/London, UTC or with an offset';

const datePart = dateInput
  .transform((d, ctx) => {
    const day = schoolDayOfInput(d);
    if (day === null) ctx.addIssue({ code: 'custom', message: `expected ${DATE_SHAPES}` });
    return day ?? '';
  })
  .pipe(z.string().regex(/^\d{4}-\d{2}-\d{2}$/));

/**
 * The school's day of a date as Wonde sends it: a day (`YYYY-MM-DD`), or a time — in London (the
 * school's clock, or PHP's `timezone: "Europe/London"`) its own date; in UTC or at an offset (`Z`,
 * `+01:00`, or PHP's `timezone: "UTC"` / `"+00:00"`, or a name that is UTC whatever the date: `GMT`,
 * as PHP names a zone by its abbreviation, `timezone_type: 2`) an instant whose day is London's (23:00
 * UTC on 1 June is Monday 2 June at school). Another named zone (`BST` is also Bangladesh's; `EST`…),
 * or a text in none of these shapes (a zone after a space, `2025-06-01 23:30:00 UTC`;
 * `2025-06-01 junk`): null (refused, never guessed — before, its first ten characters were taken as
 * the day, so 00:30 BST on 2 June was stored as 1 June). A day that does not exist (`2024-11-31`,
 * PHP's zero date) is given as it is, whatever its zone: whether the day exists is checked by the
 * field that reads it.
 */
function schoolDayOf(text: string, timezone: string | null | undefined): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(
    text,
  );
  if (!m) return null;
  const [, day, time, inText] = m;
  const zone = inText ?? (timezone && timezone !== 'Europe/London' ? timezone : null);
  if (!zone || !time || !isIsoDate(day!)) return day!;
  const offset = UTC_NAMES.has(zone)
    ? 'Z'
    : /^[+-]\d{2}:?\d{2}$/.test(zone)
      ? `${zone.slice(0, 3)}:${zone.slice(-2)}`
      : null;
  if (offset === null) return null;
  const instant = new Date(`${day}T${time.length === 5 ? `${time}:00` : time}${offset}`);
  return Number.isNaN(instant.getTime()) ? null : londonDate(instant);
}

/** Zone names that are UTC at every date (PHP's identifiers and abbreviations): read as `Z`. */
const UTC_NAMES = new Set(['Z', 'UTC', 'GMT', 'Etc/UTC', 'Etc/GMT']);

/** A day that exists: a mark on `2024-11-31` cannot be stored, so the page is refused naming it. */
const dateish = datePart.refine(isIsoDate, { error: 'expected a real calendar date' });

/** A date of birth in a shape or zone the connector does not read: not taken, and said. */
export interface UnreadDate {
  unread: string;
}

/**
 * A date of birth: one that does not exist (PHP's zero date `0000-00-00`, which MIS APIs send for
 * "not recorded", or `2015-02-31`) is unknown (null), as an absent one is. One that cannot be read as
 * a day (a shape or zone refused for a mark's date) is `UnreadDate`: the pupil is given without it, so
 * the date of birth Doorstep had (a CTF's) stays, and the import says it was not taken — given as
 * unknown, it wiped that one without a word. Never the page refused: a pupil needs no date of birth,
 * and refusing would hold back every other pupil on it.
 */
const birthDate = dateInput.transform((d): string | null | UnreadDate => {
  const day = schoolDayOfInput(d);
  if (day === null) return { unread: DATE_SHAPES };
  return isIsoDate(day) ? day : null;
});

/** A timestamp string or `{date}`, kept to the second: `2025-01-13 13:20:00`. */
const timestampish = z
  .union([z.string().max(40), z.object({ date: z.string().max(40) }).loose()])
  .transform((d) => (typeof d === 'string' ? d : d.date).replace(/\.\d+$/, '').slice(0, 19));

const text = z.string().max(4096);
const wondeId = z.string().min(1).max(64);
/** An MIS id as Wonde gives it: a string or a number (`mis_id: 7`), read as text. */
const misId = z.union([z.string().min(1).max(64), z.number().int()]).transform(String);

/**
 * `meta.pagination`: `next` and `more` as the client reads them; `current_page`, the page's number
 * (docs.wonde.com/docs/api/1.0, "Pagination": `{ next, previous, more, per_page, current_page }`,
 * `per_page` there a string; the client does not read it), is only a check that the pages move on —
 * one that is not a whole number is left unread, never refusing a page the client would read.
 */
export const pagination = z
  .object({
    next: z.string().max(2000).nullish(),
    more: z.boolean().nullish(),
    current_page: z
      .union([
        z.number().int().nonnegative(),
        z
          .string()
          .regex(/^\d{1,9}$/)
          .transform(Number),
      ])
      .nullish()
      .catch(undefined),
  })
  .loose();

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item).max(10_000), meta: z.object({ pagination }).loose() });

/** An `include`d object: `{ data: {…} }`. */
const included = <T extends z.ZodType>(inner: T) => z.object({ data: inner.nullish() }).loose();

export const student = z
  .object({
    id: wondeId,
    upi: text.nullish(),
    mis_id: misId,
    forename: text.nullish(),
    surname: text.nullish(),
    date_of_birth: birthDate.nullish(),
    education_details: included(z.object({ upn: text.nullish() }).loose()).nullish(),
  })
  .loose();

export const sessionAttendance = z
  .object({
    student: wondeId,
    date: dateish,
    session: z.string().max(10),
    // An id (the include dropped: the page is refused), the included code, or none — a row Wonde
    // gives no code (`null`, `{data: null}`, an empty code) is passed on to be rejected alone.
    attendance_code: z
      .union([z.string().max(64), included(z.object({ code: z.string().max(8).nullish() }).loose())])
      .nullish(),
    minutes_late: z.number().int().min(0).max(9999).nullish(),
    updated_at: timestampish.nullish(),
  })
  .loose();

/**
 * A deletion names its student's MIS id (`mis_id`) as the students list does, a string or a number.
 * One without (absent, null, empty, or not an id) is named by its Wonde id only — never refusing the
 * page: Wonde gives every deletion the school ever had at every sync, so one bad row would stop them all.
 */
export const deletion = z
  .object({
    id: wondeId,
    type: z.string().max(64).nullish(),
    mis_id: misId.optional().catch(undefined),
  })
  .loose();

export const school = z.object({ data: z.object({ id: z.string(), name: z.string() }).loose() });

export const studentsPage = page(student);
export const attendancePage = page(sessionAttendance);
export const deletionsPage = page(deletion);
export type StudentsPage = z.output<typeof studentsPage>;
