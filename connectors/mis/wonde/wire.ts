import * as z from 'zod';

/**
 * Wonde v1.0 wire format as Doorstep relies on it: `{ data: [...], meta: { pagination: { next,
 * more } } }`, following `next` (an absolute URL) until it is null. Assumed beyond the public
 * facts: students carry `id`, `upi`, `mis_id`, `forename`, `surname`, `date_of_birth` (a date
 * string or `{date}`); session attendance rows carry `student` (Wonde student id), `date` (a date
 * string or `{date}`), `session` (AM/PM), `attendance_code` (`{data:{code}}` or a code) and
 * `updated_at` (the incremental cursor, passed back as `updated_after`).
 */
const dateish = z
  .union([z.string(), z.object({ date: z.string() }).loose()])
  .transform((d) => (typeof d === 'string' ? d : d.date).slice(0, 10));

/** A timestamp string or `{date}`, kept to the second: `2025-01-13 13:20:00`. */
const timestampish = z
  .union([z.string(), z.object({ date: z.string() }).loose()])
  .transform((d) => (typeof d === 'string' ? d : d.date).replace(/\.\d+$/, ''));

export const page = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    meta: z
      .object({ pagination: z.object({ next: z.string().nullish(), more: z.boolean().optional() }).loose() })
      .loose(),
  });

export const student = z
  .object({
    id: z.string(),
    upi: z.string().nullish(),
    mis_id: z.union([z.string(), z.number()]).transform(String),
    forename: z.string().nullish(),
    surname: z.string().nullish(),
    date_of_birth: dateish.nullish(),
  })
  .loose();

export const sessionAttendance = z
  .object({
    student: z.string(),
    date: dateish,
    session: z.string(),
    attendance_code: z.union([
      z.string(),
      z.object({ data: z.object({ code: z.string() }).loose() }).loose(),
    ]),
    updated_at: timestampish.nullish(),
  })
  .loose();

export const school = z.object({ data: z.object({ id: z.string(), name: z.string() }).loose() });

export const studentsPage = page(student);
export const attendancePage = page(sessionAttendance);
export type StudentsPage = z.output<typeof studentsPage>;
export type AttendancePage = z.output<typeof attendancePage>;
