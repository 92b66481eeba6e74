import type * as z from 'zod';
import { malformed } from '../errors.ts';
import type { Address, ContactRecord, Where } from '../types.ts';
import {
  emailAddress,
  guardian,
  guardianRelationship,
  person,
  postalAddress,
  postalAddressOccupancy,
  telephoneNumber,
} from './wire.ts';

/**
 * A pupil's household from Arbor's published models: the home address (PostalAddressOccupancy →
 * PostalAddress) and up to MAX_CONTACTS contacts (StudentGuardianRelationship → Guardian → Person,
 * TelephoneNumber, EmailAddress), read through the source's paging and link checks.
 */
export interface ArborReader {
  retrieve<T extends z.ZodType>(href: string, root: string, schema: T, where: Where): Promise<z.output<T>>;
  /** Every object of resource `type` the filters select, each whole (a row listed as a reference read at its href). */
  query<T extends z.ZodObject>(
    type: string,
    filters: Record<string, string>,
    schema: T,
  ): Promise<z.output<T>[]>;
}

export const MAX_CONTACTS = 5;

/**
 * Whether a dated assignment holds today (a start or end that is null: since ever, still). One whose
 * start or end is unknown (`undefined`: the object did not say, even read whole at its href) is never
 * current — an ended CP plan read as a bare reference once counted as a current one.
 */
export function current(
  start: string | null | undefined,
  end: string | null | undefined,
  today: string,
): boolean {
  if (start === undefined || end === undefined) return false;
  return (!start || start.slice(0, 10) <= today) && (!end || end.slice(0, 10) >= today);
}

/** Whether a dated assignment's start and end are both known (null, "not set", is known). */
export const datesKnown = (start: unknown, end: unknown): boolean => start !== undefined && end !== undefined;

/**
 * Whether any of a pupil's status assignments holds today: true when one known to does; false when
 * none does and every one's dates are known; undefined — not to be said, the flag Doorstep had kept —
 * when none is known to and some dates are unknown.
 */
export function anyCurrent(
  rows: readonly { startDate?: string | null | undefined; endDate?: string | null | undefined }[],
  today: string,
): boolean | undefined {
  if (rows.some((r) => current(r.startDate, r.endDate, today))) return true;
  return rows.every((r) => datesKnown(r.startDate, r.endDate)) ? false : undefined;
}

/**
 * The current home occupancy's address, else any current one's; null when none is current, undefined
 * (the address Doorstep had kept) when none is known to be and some occupancy's dates are unknown.
 */
export async function homeAddress(
  arbor: ArborReader,
  personHref: string,
  where: Where,
  today: string,
): Promise<Address | null | undefined> {
  const all = await arbor.query(
    'PostalAddressOccupancy',
    { 'filters.occupant.equals': personHref },
    postalAddressOccupancy,
  );
  const occupancies = all.filter((o) => current(o.effectiveDate, o.endDate, today));
  const home = occupancies.find((o) => o.postalAddressType?.toUpperCase() === 'HOME') ?? occupancies[0];
  if (!home) return all.every((o) => datesKnown(o.effectiveDate, o.endDate)) ? null : undefined;
  const a = await arbor.retrieve(home.postalAddress.href, 'postalAddress', postalAddress, where);
  const line2 = [a.address2, a.address3].filter(Boolean).join(', ');
  return {
    line1: a.address1 ?? null,
    line2: line2 || null,
    town: a.postalTown ?? null,
    postcode: a.postalCode ?? null,
  };
}

export async function contactsOf(
  arbor: ArborReader,
  studentHref: string,
  where: Where,
): Promise<ContactRecord[]> {
  const rels = (
    await arbor.query(
      'StudentGuardianRelationship',
      { 'filters.student.equals': studentHref },
      guardianRelationship,
    )
  )
    .sort((a, b) => (a.emergencyContactPriority ?? 1e9) - (b.emergencyContactPriority ?? 1e9))
    .slice(0, MAX_CONTACTS);
  const out: ContactRecord[] = [];
  for (const [i, rel] of rels.entries()) {
    const g = await arbor.retrieve(rel.guardian.href, 'guardian', guardian, where);
    const gp = g.person ? await arbor.retrieve(g.person.href, 'person', person, where) : null;
    const phones = g.person
      ? await arbor.query('TelephoneNumber', { 'filters.numberOwner.equals': g.person.href }, telephoneNumber)
      : [];
    const emails = g.person
      ? await arbor.query('EmailAddress', { 'filters.emailAddressOwner.equals': g.person.href }, emailAddress)
      : [];
    const phone = phones
      .filter((t) => t.number)
      .sort((a, b) => (a.telephoneNumberRanking ?? 1e9) - (b.telephoneNumberRanking ?? 1e9))[0];
    const email = emails
      .filter((e) => e.emailAddress)
      .sort((a, b) => (a.dataOrder ?? 1e9) - (b.dataOrder ?? 1e9))[0];
    const name = [gp?.preferredFirstName ?? gp?.legalFirstName, gp?.legalLastName].filter(Boolean).join(' ');
    out.push({
      priority: i + 1,
      name: name || null,
      // GuardianRelationshipType is a lookup whose id is its code (e.g. MOTHER).
      relationship: rel.guardianRelationshipType
        ? idOf(rel.guardianRelationshipType, where, 'guardianRelationshipType')
        : null,
      phone: phone?.number ?? null,
      email: email?.emailAddress ?? null,
      parentalResponsibility: rel.isLegalGuardian ?? null,
    });
  }
  return out;
}

/** A link's id: its `id`, else the last segment of its href. */
export function idOf(l: { id?: string | undefined; href: string }, where: Where, field: string): string {
  const v = l.id ?? l.href.split('/').filter(Boolean).at(-1);
  if (!v) throw malformed(where, field, 'expected a link with an id');
  return v;
}
