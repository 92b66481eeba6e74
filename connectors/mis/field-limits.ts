import type { Address, ContactRecord, MarkRecord, PupilRecord } from './types.ts';

/**
 * The longest value Doorstep accepts in each imported field, in characters — the one table every
 * MIS path (SIMS XML, CTF, CSV, Arbor, Wonde) is held to when a unit is applied. A longer value is
 * named (file, line and field) and left out — a pupil's other fields and their marks applied; only a
 * record whose id is too long is rejected whole.
 * (docs/attendance-in.md: "Field limits".)
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

/**
 * The most text one XML record (a SIMS `Record`, a CTF `Pupil`) may hold, in characters, whether
 * Doorstep reads it or not. A real record holds a few thousand; without this bound the two above
 * allowed one record of 5000 values of 64K characters (320M characters, past any worker's memory).
 */
export const MAX_RECORD_TEXT = 1_000_000;

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

/**
 * A pupil held to the limits: an MIS id over its limit cannot name the pupil (`refused`); any other
 * field over its limit is left out — the stored value kept (an address whole, since half of one
 * would be another address), a contact's field cleared — and named (`left`), the rest of the pupil
 * applied. One over-long parent's e-mail once kept the child out, and with them every mark.
 */
export function fitPupilToLimits(
  p: PupilRecord,
): { refused: LimitExceeded } | { pupil: PupilRecord; left: LimitExceeded[] } {
  const id = check(p.misId, 'misId', 'misId');
  if (id) return { refused: id };
  const left: LimitExceeded[] = [];
  const out: PupilRecord = { ...p };
  const own = [
    ['upn', 'upn'],
    ['forename', 'forename'],
    ['surname', 'surname'],
    ['preferredName', 'preferredName'],
    ['dob', 'dob'],
    ['yearGroup', 'yearGroup'],
  ] as const;
  for (const [field, limit] of own) {
    const over = check(p[field], limit, field);
    if (over) {
      left.push(over);
      delete out[field];
    }
  }
  const address = checkAddress(p.address, 'address');
  if (address) {
    left.push(address);
    delete out.address;
  }
  const destination = check(p.leaving?.destination, 'leaver.destination', 'destination');
  if (destination && p.leaving) {
    left.push(destination);
    // Named all the same: never read as a destination nobody knows (`NoDestination`).
    out.leaving = { on: p.leaving.on, destination: null, noDestination: 'too-long' };
  }
  if (p.contacts)
    out.contacts = p.contacts.map((c) => {
      const at = `contacts[${c.priority}]`;
      const fitted: ContactRecord = { ...c };
      const fields = [
        ['name', 'contact.name'],
        ['relationship', 'contact.relationship'],
        ['phone', 'contact.phone'],
        ['email', 'contact.email'],
      ] as const;
      for (const [field, limit] of fields) {
        const over = check(c[field], limit, `${at}.${field}`);
        if (over) {
          left.push(over);
          // Left out (the key absent): the store keeps what it had for this contact.
          delete fitted[field];
        }
      }
      const overAddress = checkAddress(c.address, `${at}.address`);
      if (overAddress) {
        left.push(overAddress);
        delete fitted.address;
      }
      return fitted;
    });
  return { pupil: out, left };
}

/** The first field of a mark over its limit, or undefined. */
export function markExceeds(m: MarkRecord): LimitExceeded | undefined {
  return (
    check(m.pupilMisId, 'mark.pupilMisId', 'pupilMisId') ??
    check(m.mark, 'mark.code', 'mark') ??
    check(m.recordId, 'mark.recordId', 'recordId')
  );
}
