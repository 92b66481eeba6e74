import * as z from 'zod';
import { isIsoDate } from '../../../src/domain/attendance/dates.ts';

/**
 * Arbor REST v2 wire format, written from Arbor's published PHP client (arbor-education/sis-sdk-php);
 * each shape names the file it comes from. Field names are exactly the model constants there.
 *
 * Gateway (src/Arbor/Api/Gateway/RestGateway.php):
 * - retrieve: `GET /rest-v2/{plural-dashed}/{id}` answers `{ "<lcfirst type>": {…} }`; an object's
 *   links to other objects carry `entityType`, `id` and `href`;
 * - query: `GET /rest-v2/{PluralType}` with `filters.<property>.<operator>=value` (a model as its
 *   href), `page` and `page-size` (src/Arbor/Query/Query.php), answering `{ "<lcfirst plural>": [] }`;
 * - changelog: `GET /rest-v2/{plural-dashed}/changelog?from-revision=N` answering
 *   `{ "changes": [ { changeType, fromRevision, toRevision, changedObject } ] }`
 *   (also src/Arbor/ChangeLog/Change.php);
 * - create: `POST /rest-v2/{plural-dashed}` with `{ "request": { "<lcfirst type>": {…} } }`,
 *   answering the created object at top level under `"<lcfirst type>"`.
 */

/** Ids are integers in Arbor; codes (AttendanceMark `PRESENT`) are strings. */
const id = z.union([z.number().int().nonnegative(), z.string().min(1).max(64)]).transform(String);
/** Text from Arbor, bounded far above FIELD_LIMITS (which the import enforces per field). */
const text = z.string().max(4096);
/** `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (Europe/London), kept as given. */
const dateShaped = z.string().regex(/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$/);
const realDay = (d: string) => isIsoDate(d.slice(0, 10));

/** A date on a day that exists: a session on `2024-11-31` gives marks no date, so it is refused. */
const dateish = dateShaped.refine(realDay, { error: 'expected a real calendar date' });

/**
 * A date that may be unknown: one on a day that does not exist (PHP's zero date `0000-00-00`, which
 * PHP-backed APIs send for "not set", or `2015-02-30`) is read as null, as if absent — a date of birth
 * is then unknown, and a status or address with no readable end is still current (a CP plan is not
 * dropped because its end date is the zero date).
 */
const dateOrUnknown = dateShaped.transform((d) => (realDay(d) ? d : null));

/** An href Arbor gives is followed only as a path on the school's own Arbor host. */
export const SAFE_HREF = /^\/rest-v2\/[A-Za-z0-9_\-/]{1,300}$/;

/**
 * Whether `href` is one Doorstep follows: a `/rest-v2/…` path on the school's Arbor (SAFE_HREF) and,
 * given the dashed plural `path` of a resource (`pastoral-notes`), one object of it
 * (`/rest-v2/{path}/{id}`, as RestGateway::retrieve builds it) — never another host's or model's.
 */
export function isSafeHref(href: unknown, path?: string): href is string {
  if (typeof href !== 'string' || !SAFE_HREF.test(href)) return false;
  return path === undefined || new RegExp(`^/rest-v2/${path}/[\\w-]{1,64}$`).test(href);
}

/**
 * A resource type's plural, as the client's src/Arbor/Filter/PluralizeFilter.php makes it (a query's
 * path and list root: `PostalAddressOccupancy` → `PostalAddressOccupancies`, `EmailAddress` →
 * `EmailAddresses`).
 */
export function pluralOf(type: string): string {
  if (type.endsWith('s')) return `${type.slice(0, -1)}ses`;
  if (type.endsWith('y') && !type.endsWith('ay')) return `${type.slice(0, -1)}ies`;
  return `${type}s`;
}

export const link = z
  .object({ entityType: z.string().max(100), id: id.optional(), href: z.string().max(500) })
  .loose();

/** src/Arbor/Model/Student.php: the pupil; names and date of birth live on its `person`. */
export const student = z.object({ id, person: link.nullish() }).loose();

/** src/Arbor/Model/Person.php */
export const person = z
  .object({
    id,
    legalFirstName: text.nullish(),
    legalLastName: text.nullish(),
    preferredFirstName: text.nullish(),
    dateOfBirth: dateOrUnknown.nullish(),
  })
  .loose();

/** src/Arbor/Model/UkDfe/UpnAssignment.php (resource `UkDfe_UpnAssignment`): the pupil's UPN. */
export const upnAssignment = z
  .object({
    upn: text.nullish(),
    startDatetime: dateOrUnknown.nullish(),
    endDatetime: dateOrUnknown.nullish(),
    isTemporary: z.boolean().nullish(),
  })
  .loose();

/** src/Arbor/Model/StudentGuardianRelationship.php */
export const guardianRelationship = z
  .object({
    guardian: link,
    guardianRelationshipType: link.extend({ label: text.nullish(), code: text.nullish() }).loose().nullish(),
    isLegalGuardian: z.boolean().nullish(),
    emergencyContactPriority: z.number().int().nullish(),
  })
  .loose();

/** src/Arbor/Model/Guardian.php: a contact; the name lives on its `person`. */
export const guardian = z.object({ id, person: link.nullish() }).loose();

/** src/Arbor/Model/TelephoneNumber.php (`numberOwner` is the owning Person). */
export const telephoneNumber = z
  .object({ number: text.nullish(), telephoneNumberRanking: z.number().int().nullish() })
  .loose();

/** src/Arbor/Model/EmailAddress.php (`emailAddressOwner` is the owning Person). */
export const emailAddress = z
  .object({ emailAddress: text.nullish(), dataOrder: z.number().int().nullish() })
  .loose();

/** src/Arbor/Model/PostalAddressOccupancy.php: who lives where, from when until when. */
export const postalAddressOccupancy = z
  .object({
    postalAddress: link,
    effectiveDate: dateOrUnknown.nullish(),
    endDate: dateOrUnknown.nullish(),
    postalAddressType: text.nullish(),
  })
  .loose();

/** src/Arbor/Model/PostalAddress.php */
export const postalAddress = z
  .object({
    address1: text.nullish(),
    address2: text.nullish(),
    address3: text.nullish(),
    postalTown: text.nullish(),
    postalCode: text.nullish(),
  })
  .loose();

/** src/Arbor/Model/ChildProtectionStatusAssignment.php: a CP status from `startDate` to `endDate`. */
export const childProtectionStatusAssignment = z
  .object({ startDate: dateOrUnknown.nullish(), endDate: dateOrUnknown.nullish() })
  .loose();

/**
 * src/Arbor/Model/InCareStatusAssignment.php (looked after) and
 * src/Arbor/Model/UkDfe/YoungCarerStatusAssignment.php (resource `UkDfe_YoungCarerStatusAssignment`):
 * each a status for `student` from `startDate` to `endDate`.
 */
export const statusAssignment = z
  .object({ startDate: dateOrUnknown.nullish(), endDate: dateOrUnknown.nullish() })
  .loose();

/** src/Arbor/Model/SenStatusAssignment.php: a status assignment whose `senStatus` is a link. */
export const senStatusAssignment = statusAssignment.extend({ senStatus: link.nullish() }).loose();

/** src/Arbor/Model/SenStatus.php: `d00229` is the DfE SEN provision code (`E`: an EHC plan). */
export const senStatus = z.object({ code: text.nullish(), d00229: z.string().max(8).nullish() }).loose();

/** src/Arbor/Model/AttendanceRecord.php: the mark and the session are links. */
export const attendanceRecord = z
  .object({
    id,
    student: link,
    attendanceMark: link,
    session: link.nullish(),
    minutesLate: z.number().int().min(0).max(9999).nullish(),
    startDatetime: dateOrUnknown.nullish(),
  })
  .loose();

/**
 * src/Arbor/Model/AttendanceMark.php: `code` is Arbor's own id (e.g. `PRESENT`), `attendanceMark`
 * the register symbol; the meaning is in the `isStatistical*` flags.
 */
export const attendanceMark = z
  .object({
    code: text,
    attendanceMark: z.string().max(8).nullish(),
    isStatisticalPresent: z.boolean().nullish(),
    isStatisticalAuthorizedAbsent: z.boolean().nullish(),
    isStatisticalUnauthorizedAbsent: z.boolean().nullish(),
    isStatisticalApprovedEducationalActivity: z.boolean().nullish(),
    isStatisticalPossibleAttendance: z.boolean().nullish(),
  })
  .loose();

/**
 * src/Arbor/Model/Session.php: a register's session — the statutory AM or PM registration, or a
 * lesson (it has an `academicUnit`, a `lessonPlan`). Its half of the day is its
 * `attendanceRegisterType`'s (below); `sessionName` is a name the school gives it.
 */
export const session = z
  .object({
    startDatetime: dateish,
    sessionName: text.nullish(),
    attendanceRegisterType: link.nullish(),
    academicUnit: link.nullish(),
    lessonPlan: link.nullish(),
  })
  .loose();

/**
 * src/Arbor/Model/AttendanceRegisterType.php: `isMorning` / `isAfternoon` say which statutory session
 * a register is; neither (a lesson register, a club) is no statutory session.
 */
export const attendanceRegisterType = z
  .object({ isMorning: z.boolean().nullish(), isAfternoon: z.boolean().nullish(), code: text.nullish() })
  .loose();

/**
 * A changelog answer. A change's `changedObject` is the object as it now is; a DELETE's object is
 * gone, and Doorstep relies on nothing in it but its id (a deleted attendance record may come
 * without its student or mark) — else one deletion would refuse the page and every sync after it.
 * An answer without `changes` is no changes, as in the SDK (`RestGateway::getChanges` returns an
 * empty list when the key is absent) — on the same terms as a query's absent list (`many`, below):
 * only an answer otherwise empty or Arbor's own success envelope; anything else is refused.
 */
export const changelogPage = <T extends z.ZodType<{ id: string }>>(object: T) =>
  z
    .object({
      changes: z
        .array(
          z
            .object({
              changeType: z.string().max(20),
              fromRevision: z.number().int().nonnegative(),
              toRevision: z.number().int().nonnegative(),
              changedObject: z.unknown(),
            })
            .loose()
            .transform((c, ctx): Change<z.output<T>> => {
              const deleted = c.changeType.toUpperCase() === 'DELETE';
              const parsed = (deleted ? deletedObject : object).safeParse(c.changedObject);
              if (!parsed.success) {
                for (const issue of parsed.error.issues)
                  ctx.issues.push({
                    code: 'custom',
                    message: issue.message,
                    path: ['changedObject', ...issue.path],
                    input: c.changedObject,
                  });
                return z.NEVER;
              }
              const base = { toRevision: c.toRevision };
              return deleted
                ? { ...base, deleted: true, changedObject: parsed.data as { id: string } }
                : { ...base, deleted: false, changedObject: parsed.data as z.output<T> };
            }),
        )
        .optional(),
    })
    .loose()
    .superRefine(absentListIsEmpty('changes'))
    .transform((body) => ({ ...body, changes: body.changes ?? [] }));

/** What a DELETE change's object must carry: the id of what was deleted. */
const deletedObject = z.object({ id }).loose();

/** One change, read: the deleted object's id, or the object as it now is. */
export type Change<T> =
  | { toRevision: number; deleted: true; changedObject: { id: string } }
  | { toRevision: number; deleted: false; changedObject: T };

/**
 * A query row, as read for `object` (whose keys are exactly the properties Doorstep reads): whole
 * when it carries every one of them; else, when it has an href, a reference to read whole there.
 * Arbor may list a query's rows as references only (`{entityType, id, href}`): the published client
 * (arbor-education/sis-sdk-php) hydrates each row into a model (src/Arbor/Api/Gateway/RestGateway.php,
 * `query`), and src/Arbor/Model/ModelBase.php `getProperty` reads a property the row lacks by
 * fetching the object at its href (`refresh`: `GET href`, the object under its type's root). A row
 * with no href is read as it is. A property missing from the object read (`undefined`) is one Arbor
 * did not set — `getProperty` answers null for it — and is read as null (household.ts `current`).
 */
export const queryRow = <T extends z.ZodObject>(object: T) => {
  const reads = Object.keys(object.shape);
  return z.unknown().transform((row, ctx): QueryRow<z.output<T>> => {
    if (
      row !== null &&
      typeof row === 'object' &&
      !Array.isArray(row) &&
      typeof (row as { href?: unknown }).href === 'string' &&
      !reads.every((k) => k in row)
    )
      return { reference: (row as { href: string }).href };
    const parsed = object.safeParse(row);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.issues.push({ code: 'custom', message: issue.message, path: issue.path, input: row });
      return z.NEVER;
    }
    return { whole: parsed.data };
  });
};

/** A query row read: the object whole, or the href it is to be read at. */
export type QueryRow<T> = { whole: T; reference?: undefined } | { reference: string; whole?: undefined };

/** `{ "<root>": {…} }`, as retrieve answers. */
export const one = <T extends z.ZodType>(root: string, object: T) => z.object({ [root]: object }).loose();

/**
 * `{ "<root>": [ … ] }`, as query answers. An absent root is an empty list, as in the SDK
 * (`RestGateway::query`) — but only in an answer that is otherwise empty or Arbor's own success
 * envelope (`response.code` 200/201, which the SDK also checks): `{"message": "partial outage"}`
 * from something in front of Arbor is no answer at all, and read as "no CP plan assignments" it
 * would clear a child's child-protection flag.
 */
export const many = <T extends z.ZodType>(root: string, object: T) =>
  z
    .object({ [root]: z.array(object).max(10_000).optional() })
    .loose()
    .superRefine(absentListIsEmpty(root))
    .transform((body) => ({ ...body, [root]: (body[root] ?? []) as z.output<T>[] }));

/**
 * An answer without its list `root` is an empty list only when it is otherwise empty or Arbor's own
 * success envelope (`response.code` 200/201); anything else is refused, naming what it held.
 */
function absentListIsEmpty(root: string) {
  return (body: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const problem = absentListProblem(body, root);
    if (problem !== null) ctx.addIssue({ code: 'custom', path: [root], message: problem });
  };
}

/**
 * The one rule for a query answer (an object) as `many` reads it and the records connector's Arbor
 * notes sink too. Arbor's error envelope (`response.code` other than 200/201, which the SDK's
 * `RestGateway` checks over the HTTP status) is no answer, whatever list it carries. Without its
 * list `root`, the answer is an empty list only when it is otherwise empty or the success envelope —
 * as in the SDK (`RestGateway::query`). Null when it is fine; else what is wrong with it. (A list
 * present but not an array — `null` — is for the caller's own check: never read as empty.)
 */
export function absentListProblem(body: Record<string, unknown>, root: string): string | null {
  const envelope = (body as { response?: { code?: unknown } }).response;
  const code = envelope && typeof envelope === 'object' ? envelope.code : undefined;
  if (code !== undefined && code !== 200 && code !== 201)
    return `expected the list "${root}"; got Arbor's error envelope (response code ${String(code)})`;
  if (body[root] !== undefined) return null;
  const others = Object.keys(body).filter((k) => k !== 'response' && k !== root);
  if (others.length)
    return `expected the list "${root}" (or an empty answer); got only ${others.slice(0, 3).join(', ')}`;
  return null;
}

export type AttendanceMarkWire = z.output<typeof attendanceMark>;
