import type { Address, MarkRecord, PupilRecord } from './types.ts';

/**
 * The longest value Doorstep accepts in each imported field, in characters — the one table every
 * MIS path (SIMS XML, CTF, CSV, Arbor, Wonde) is held to when a unit is applied. A record with a
 * longer value is rejected, naming the file, line and field; the rest of the unit is applied.
 * (README: "Field limits".)
 */
export const FIELD_LIMITS = {
  misId: 64,
  upn: 13,
  forename: 100,
  surname: 100,
  preferredName: 100,
  dob: 10,
  yearGroup: 20,
  'address.line1': 200,
  'address.line2': 200,
  'address.town': 100,
  'address.postcode': 16,
  'contact.name': 100,
  'contact.relationship': 50,
  'contact.phone': 32,
  'contact.email': 254,
  'mark.pupilMisId': 64,
  'mark.code': 8,
  'mark.recordId': 64,
  'leaver.destination': 200,
} as const;

/**
 * The most text a reader holds for one value, one XML token or one CSV record while it streams a
 * file (characters). Far above every limit above, so a longer value is no real export: the file is
 * refused there, naming the line and field, without reading the rest of the value into memory.
 */
export const MAX_VALUE_READ = 64 * 1024;

/** The most elements one XML record (a SIMS `Record`, a CTF `Pupil`) may hold. */
export const MAX_ELEMENTS_PER_RECORD = 5000;

/** The largest API page body read from an MIS (bytes). */
export const MAX_API_PAGE_BYTES = 32 * 1024 * 1024;

export interface LimitExceeded {
  field: string;
  max: number;
  length: number;
}

/** What a rejected row says: the field, its limit and the length found (never the value). */
export function describeExceeded(e: LimitExceeded): string {
  return `field ${e.field}: expected at most ${e.max} characters, got ${e.length}`;
}

function check(
  value: string | null | undefined,
  limit: keyof typeof FIELD_LIMITS,
  field: string,
): LimitExceeded | undefined {
  const max = FIELD_LIMITS[limit];
  return value != null && value.length > max ? { field, max, length: value.length } : undefined;
}

function checkAddress(a: Address | null | undefined, prefix: string): LimitExceeded | undefined {
  if (!a) return undefined;
  return (
    check(a.line1, 'address.line1', `${prefix}.line1`) ??
    check(a.line2, 'address.line2', `${prefix}.line2`) ??
    check(a.town, 'address.town', `${prefix}.town`) ??
    check(a.postcode, 'address.postcode', `${prefix}.postcode`)
  );
}

/** The first field of a pupil over its limit, or undefined. */
export function pupilExceeds(p: PupilRecord): LimitExceeded | undefined {
  const own =
    check(p.misId, 'misId', 'misId') ??
    check(p.upn, 'upn', 'upn') ??
    check(p.forename, 'forename', 'forename') ??
    check(p.surname, 'surname', 'surname') ??
    check(p.preferredName, 'preferredName', 'preferredName') ??
    check(p.dob, 'dob', 'dob') ??
    check(p.yearGroup, 'yearGroup', 'yearGroup') ??
    checkAddress(p.address, 'address') ??
    check(p.leaving?.destination, 'leaver.destination', 'destination');
  if (own) return own;
  for (const c of p.contacts ?? []) {
    const at = `contacts[${c.priority}]`;
    const over =
      check(c.name, 'contact.name', `${at}.name`) ??
      check(c.relationship, 'contact.relationship', `${at}.relationship`) ??
      check(c.phone, 'contact.phone', `${at}.phone`) ??
      check(c.email, 'contact.email', `${at}.email`) ??
      checkAddress(c.address, `${at}.address`);
    if (over) return over;
  }
  return undefined;
}

/** The first field of a mark over its limit, or undefined. */
export function markExceeds(m: MarkRecord): LimitExceeded | undefined {
  return (
    check(m.pupilMisId, 'mark.pupilMisId', 'pupilMisId') ??
    check(m.mark, 'mark.code', 'mark') ??
    check(m.recordId, 'mark.recordId', 'recordId')
  );
}
