import * as z from 'zod';
import { NO_ECHO } from '../../core/settings.ts';
import { CODES } from '../../domain/attendance/codes.ts';
import { isIsoDate } from '../../domain/attendance/dates.ts';

/** A time of day, Europe/London: `HH:MM`, 24-hour. */
export const hhmm = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time as HH:MM (24-hour)' });

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

/** A calendar date that exists: `YYYY-MM-DD`, never a 30 February or a month 13. */
const isoDate = z.string().superRefine((s, ctx) => {
  if (isIsoDate(s)) return;
  ctx.addIssue({
    code: 'custom',
    input: s,
    message: /^\d{4}-\d{2}-\d{2}$/.test(s)
      ? 'expected a date that exists, as YYYY-MM-DD'
      : 'expected a date as YYYY-MM-DD',
  });
});

/** A term: its first and last day, the last on or after the first (a year typo would make it no days). */
const term = z.strictObject({ start: isoDate, end: isoDate }).superRefine((t, ctx) => {
  if (t.end < t.start)
    ctx.addIssue({
      code: 'custom',
      path: ['end'],
      input: t.end,
      message: `expected the term's last day on or after its first (start ${t.start})`,
    });
});

/** `calendar`: term dates and closures. */
export const calendarSettings = z
  .strictObject({
    /** Term dates (first and last day); include last year's terms for year-on-year patterns. */
    terms: z.array(term).default([]),
    /** Days inside terms when pupils are not in: INSET days, bank holidays, closures. */
    closures: z
      .array(
        z
          .strictObject({
            from: isoDate,
            to: isoDate.optional(),
            kind: z.enum(['inset', 'bank-holiday', 'closure']),
            note: z.string().optional(),
          })
          .superRefine((c, ctx) => {
            if (c.to !== undefined && c.to < c.from)
              ctx.addIssue({
                code: 'custom',
                path: ['to'],
                input: c.to,
                message: `expected the closure's last day on or after its first (from ${c.from})`,
              });
          }),
      )
      .default([]),
  })
  // Terms never overlap: two that do are a typo in one of them (a day would be in both, and the
  // holiday between them in neither).
  .superRefine((cal, ctx) => {
    // Only terms that are sound themselves (a refused date or a reversed term is reported as such).
    const sound = (t: { start: string; end: string }) =>
      isIsoDate(t.start) && isIsoDate(t.end) && t.start <= t.end;
    cal.terms.forEach((t, j) => {
      if (!sound(t)) return;
      const i = cal.terms.findIndex((o, k) => k < j && sound(o) && o.start <= t.end && t.start <= o.end);
      if (i === -1) return;
      const o = cal.terms[i]!;
      ctx.addIssue({
        code: 'custom',
        path: ['terms', j, 'start'],
        input: t.start,
        // Both terms are in the words: no "got" after them.
        params: { [NO_ECHO]: true },
        message: `the term ${t.start} to ${t.end} overlaps terms[${i}] (${o.start} to ${o.end}): terms may not overlap`,
      });
    });
  });
