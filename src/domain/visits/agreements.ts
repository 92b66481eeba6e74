import * as z from 'zod';
import type { VisitRules } from './rules.ts';

/**
 * Thames View 4.1–4.3: agreements made on a visit are recorded with its outcome; when the family
 * does not keep one, the breach is recorded against that outcome. Each breach asks for a reminder
 * letter (4.2) and a note in the pupil's attendance record (4.3); "continued failure to adhere to the
 * agreement will result in a follow-up visit" (the pack's `followUpVisitAfter`th breach). A family
 * not at home for the appointment is 3.4 (no answer, the visit cancelled), not a broken agreement.
 */

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date as YYYY-MM-DD' });

/** What staff record when an agreement was not kept: which one (its place in the outcome), when, what happened. */
export const brokenAgreementInput = z.strictObject({
  agreement: z.int({ error: 'expected the number of the agreement (0 for the first)' }).min(0).max(19),
  on: isoDate,
  note: z.string().trim().min(1, { error: 'expected what happened' }).max(1000),
});
export type BrokenAgreementInput = z.output<typeof brokenAgreementInput>;

/** A breach as the visit's outcome keeps it. */
export const brokenAgreement = brokenAgreementInput.extend({
  /** Its number among the visit's breaches (1 for the first). */
  n: z.int().min(1),
  recordedBy: z.string().min(1),
  recordedAt: z.iso.datetime({ offset: true }),
});
export type BrokenAgreement = z.output<typeof brokenAgreement>;

/**
 * The outcome of a visit as stored (the outcome form's fields, who recorded it, and the breaches of
 * its agreements recorded since). Read with `parseOutcome`: a stored value that does not fit is an
 * error, never silently taken as empty.
 */
export const visitOutcome = z.object({
  childSeen: z.boolean(),
  noOneHome: z.boolean(),
  spokeTo: z.string().optional(),
  agreements: z.array(z.string()).default([]),
  concerns: z.array(z.string()).default([]),
  followUp: z
    .array(z.object({ action: z.string(), by: z.string(), due: z.string().nullable().optional() }))
    .default([]),
  recordedBy: z.string().optional(),
  recordedAt: z.string().optional(),
  broken: z.array(brokenAgreement).default([]),
});
export type VisitOutcome = z.output<typeof visitOutcome>;

export function parseOutcome(stored: unknown): VisitOutcome | null {
  if (stored === null || stored === undefined) return null;
  const r = visitOutcome.safeParse(stored);
  if (!r.success)
    throw new Error(`stored visit outcome does not fit its schema: ${r.error.issues[0]?.message}`);
  return r.data;
}

/** What a breach asks for, from the pack's `agreements` and how many breaches the visit has had. */
export interface BreachSteps {
  reminderLetter: boolean;
  attendanceNote: boolean;
  followUpVisit: boolean;
}

export type BreachCheck =
  | { ok: true; duplicate: BrokenAgreement }
  | { ok: true; n: number; steps: BreachSteps }
  | { ok: false; field: 'agreement' | 'on'; message: string };

/**
 * Checks a breach against the visit's outcome and decides what it asks for. The same agreement
 * broken on the same day is one breach (recording it twice adds nothing). The date may be neither
 * before the visit's date nor after today.
 */
export function decideBreach(
  rules: NonNullable<VisitRules['agreements']>,
  outcome: VisitOutcome,
  input: BrokenAgreementInput,
  visitDate: string,
  today: string,
): BreachCheck {
  const text = outcome.agreements[input.agreement];
  if (text === undefined)
    return {
      ok: false,
      field: 'agreement',
      message: `the visit's outcome has ${outcome.agreements.length} agreement(s): expected 0 to ${outcome.agreements.length - 1}`,
    };
  if (input.on > today)
    return { ok: false, field: 'on', message: `expected a date not after today (${today})` };
  if (input.on < visitDate)
    return { ok: false, field: 'on', message: `expected a date not before the visit (${visitDate})` };
  const same = outcome.broken.find((b) => b.agreement === input.agreement && b.on === input.on);
  if (same) return { ok: true, duplicate: same };
  const n = outcome.broken.length + 1;
  return {
    ok: true,
    n,
    steps: {
      reminderLetter: rules.reminderLetter,
      attendanceNote: rules.attendanceNote,
      followUpVisit: rules.followUpVisitAfter !== undefined && n >= rules.followUpVisitAfter,
    },
  };
}
