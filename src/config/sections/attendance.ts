import * as z from 'zod';
import { CODES } from '../../domain/attendance/codes.ts';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time as HH:MM (24-hour)' });

/** `attendance`: local code mapping, accepted academic years and the sync times. */
export const attendanceSettings = z.strictObject({
  /** Local (e.g. SIMS 8 multi-character) code → statutory code. */
  codeMap: z
    .record(z.string().min(1).max(8), z.string())
    .superRefine((map, ctx) => {
      for (const [from, to] of Object.entries(map)) {
        if (!CODES.has(to)) {
          ctx.addIssue({
            code: 'custom',
            path: [from],
            input: to,
            message: `expected a statutory code for "${from}"`,
          });
        }
      }
    })
    .default({}),
  /**
   * Academic years (by starting year, 2025 = 2025/26) whose marks are accepted; others are
   * rejected rows. Default: the current and the previous academic year.
   */
  academicYears: z.array(z.int().min(2024).max(2100)).min(1).optional(),
  /** When the scheduled sync runs on school days (Mon–Fri), Europe/London. */
  syncAt: z.array(hhmm).min(1).default(['10:30', '14:30']),
});

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date as YYYY-MM-DD' });
/** `calendar`: term dates and closures. */
export const calendarSettings = z.strictObject({
  /** Term dates (first and last day); include last year's terms for year-on-year patterns. */
  terms: z.array(z.strictObject({ start: isoDate, end: isoDate })).default([]),
  /** Days inside terms when pupils are not in: INSET days, bank holidays, closures. */
  closures: z
    .array(
      z.strictObject({
        from: isoDate,
        to: isoDate.optional(),
        kind: z.enum(['inset', 'bank-holiday', 'closure']),
        note: z.string().optional(),
      }),
    )
    .default([]),
});
