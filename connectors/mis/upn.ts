import type { PupilRecord } from './types.ts';

/** A DfE Unique Pupil Number: a check letter, 11 digits, and a digit or letter (13 characters). */
export const UPN_PATTERN = /^[A-Z]\d{11}[0-9A-Z]$/;

export const UPN_EXPECTED = 'a 13-character UPN';

/**
 * A pupil's UPN as a source gave it (`raw`: null or empty for none), under the field it came in.
 * A UPN that is not one is not taken: the pupil record leaves it out (keeping the UPN Doorstep had)
 * and names it as unusable, so the import applies the rest and reports the field — one typo in the
 * MIS must not stop a school's sync, nor keep a new pupil (and their marks) out.
 */
export function upnOf(raw: string | null | undefined, field: string): Pick<PupilRecord, 'upn' | 'unusable'> {
  const upn = raw?.trim() || null;
  if (upn === null || UPN_PATTERN.test(upn)) return { upn };
  return { unusable: [{ field, expected: UPN_EXPECTED }] };
}
