import * as z from 'zod';

/**
 * Arbor REST v2 wire format, as far as Doorstep relies on it. Everything assumed beyond the
 * public facts (per-school host, Basic auth, `/rest-v2/{resource}`, `page` + `page-size`,
 * `/{resource}/changelog?from-revision=N` returning `changes[]` with `changedObject`, `changeType`
 * and revisions; objects under their type name; links `{entityType, href}`) is written here:
 *
 * - a changelog page is `{ "changes": [ { changeType, revision, changedObject } ] }`; a page with
 *   fewer than `page-size` changes is the last one; `changedObject` carries the object's fields;
 * - a Student has `id`, `upn`, `legalFirstName`, `legalLastName`, `preferredFirstName`,
 *   `dateOfBirth` (YYYY-MM-DD);
 * - an AttendanceRecord has `student` (a link), `attendanceMark` (a link carrying `code`, or the
 *   code itself), `startDatetime` (`YYYY-MM-DD HH:MM:SS`, Europe/London; before 12:00 is AM),
 *   `minutesLate`.
 * The first sync reads the changelog from revision 0. Only this file and its tests change when
 * Arbor's real shapes differ.
 */
export const link = z.object({ entityType: z.string(), href: z.string() }).loose();

export const student = z
  .object({
    id: z.union([z.number(), z.string()]).transform(String),
    upn: z.string().nullish(),
    legalFirstName: z.string().nullish(),
    legalLastName: z.string().nullish(),
    preferredFirstName: z.string().nullish(),
    dateOfBirth: z.string().nullish(),
  })
  .loose();

export const attendanceRecord = z
  .object({
    id: z.union([z.number(), z.string()]).transform(String),
    student: link,
    attendanceMark: z.union([z.string(), link.extend({ code: z.string() })]),
    startDatetime: z.string().regex(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/),
    minutesLate: z.number().int().nullish(),
  })
  .loose();

export const changelogPage = <T extends z.ZodType>(object: T) =>
  z.object({
    changes: z.array(
      z.object({
        changeType: z.string(),
        revision: z.number().int(),
        changedObject: object,
      }),
    ),
  });

export const studentsPage = z.object({ students: z.array(student) }).loose();

/** `/rest-v2/students/7` → `7` */
export function idFromHref(href: string): string {
  return href.split('/').filter(Boolean).at(-1) ?? href;
}
