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
 * Whether a dated assignment holds today: a start or end that is not set is since ever, or still.
 * A date the object leaves out is not set, as in the published client: a query row is read whole at
 * its href when it lacks a property Doorstep reads (`queryRow` in wire.ts), and
 * src/Arbor/Model/ModelBase.php `getProperty` answers null for a property still missing after that
 * read (or missing from a row with no href to read). Nothing about a date is left unknown — a read
 * that fails fails the sync — so an open-ended CP plan whose `endDate` Arbor leaves out is current:
 * a safeguarding flag errs towards set, never silently cleared.
 */
export function current(
  start: string | null | undefined,
  end: string | null | undefined,
  today: string,
): boolean {
  return (!start || start.slice(0, 10) <= today) && (!end || end.slice(0, 10) >= today);
}

/** Whether any of a pupil's status assignments holds today. */
export function anyCurrent(
  rows: readonly { startDate?: string | null | undefined; endDate?: string | null | undefined }[],
  today: string,
): boolean {
  return rows.some((r) => current(r.startDate, r.endDate, today));
}

/** The current home occupancy's address, else any current one's; null when none is current. */
export async function homeAddress(
  arbor: ArborReader,
  personHref: string,
  where: Where,
  today: string,
): Promise<Address | null> {
  const occupancies = (
    await arbor.query(
      'PostalAddressOccupancy',
      { 'filters.occupant.equals': personHref },
      postalAddressOccupancy,
    )
  ).filter((o) => current(o.effectiveDate, o.endDate, today));
  const home = occupancies.find((o) => o.postalAddressType?.toUpperCase() === 'HOME') ?? occupancies[0];
  if (!home) return null;
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
