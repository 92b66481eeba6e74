import { describe, expect, it } from 'vitest';
import type { UserRole } from '../../src/domain/roles.ts';
import type { PupilMatch } from '../../src/store/pupils.ts';
import type { User } from '../../src/store/users.ts';
import { pupilMatchFor, seesPupilDetails, visitPupilFor } from '../../src/visits/pupil-details-for.ts';

/** A policy that clears a visit to go by authorisation (Thames View, King's, Lime Hills). */
const cleared = { authorisation: { required: true }, risk: { at: 'separate' as const } };

const user = (id: string, roles: UserRole[], positions: string[] = []) =>
  ({ id, roles, positions, schools: ['thames'] }) as unknown as User;
const sam = user('1', ['visiting-staff']);
const kim = user('2', ['visiting-staff']);
const office = user('3', ['office']);
const dsl = user('4', ['safeguarding']);
const admin = user('5', ['admin']);
const dataVisitor = user('6', ['visiting-staff', 'data-manager']);

const visit = (o: Partial<Parameters<typeof seesPupilDetails>[1]> = {}) => ({
  leadUserId: '1',
  partnerUserId: null,
  authorisedAt: null,
  riskAssessedAt: null,
  departedAt: null,
  ...o,
});
const at = new Date('2026-11-23T09:00:00Z');

describe('who is shown a pupil’s safeguarding details on a visit', () => {
  it('the office, safeguarding and admins always', () => {
    for (const u of [office, dsl, admin]) expect(seesPupilDetails(u, visit(), cleared)).toBe(true);
  });

  it('visiting staff: only the lead or partner, once the visit is authorised, assessed or out', () => {
    expect(seesPupilDetails(sam, visit(), cleared)).toBe(false);
    expect(seesPupilDetails(sam, visit({ authorisedAt: at }), cleared)).toBe(true);
    // Assessed but not authorised where the policy requires authorisation: not cleared to go (any
    // visiting staff may say they go on an unled visit), so not yet.
    expect(seesPupilDetails(sam, visit({ riskAssessedAt: at }), cleared)).toBe(false);
    expect(
      seesPupilDetails(sam, visit({ riskAssessedAt: at }), {
        ...cleared,
        authorisation: { required: false },
      }),
    ).toBe(true);
    expect(seesPupilDetails(sam, visit({ departedAt: at }), cleared)).toBe(true);
    expect(seesPupilDetails(kim, visit({ authorisedAt: at }), cleared)).toBe(false);
    expect(seesPupilDetails(kim, visit({ authorisedAt: at, partnerUserId: '2' }), cleared)).toBe(true);
    expect(seesPupilDetails(kim, visit({ leadUserId: null, authorisedAt: at }), cleared)).toBe(false);
    // A second role that gives no right to the pupil's record does not widen the first.
    expect(seesPupilDetails(dataVisitor, visit({ leadUserId: '6' }), cleared)).toBe(false);
  });

  it('where the policy lets a visit leave neither authorised nor assessed, the people going before they leave', () => {
    // Hampton: no authorisation, the risk assessed at the request (never, by a requester who is no
    // assessor): nothing more would clear it, so the lead read them only once out.
    const uncleared = { authorisation: { required: false }, risk: { at: 'request' as const } };
    expect(seesPupilDetails(sam, visit(), uncleared)).toBe(true);
    expect(seesPupilDetails(kim, visit(), uncleared)).toBe(false);
    expect(seesPupilDetails(kim, visit({ leadUserId: null }), uncleared)).toBe(false);
    // An assessment of its own to wait for (Heath Lane's `separate`): until it is made, not yet.
    const assessed = { authorisation: { required: false }, risk: { at: 'separate' as const } };
    expect(seesPupilDetails(sam, visit(), assessed)).toBe(false);
    expect(seesPupilDetails(sam, visit({ riskAssessedAt: at }), assessed)).toBe(true);
  });

  it('withheld: names and year only, no contacts', () => {
    const pupil = {
      mis_id: 'P1',
      upn: 'A123456789012',
      forename: 'Amelia',
      surname: 'Okonkwo',
      year_group: '7',
      flags: { cpPlan: true },
      manualFlags: { welfareConcern: { reason: 'seen bruised', by: 'user:4', at: '2026-11-20' } },
    };
    const contacts = [{ name: 'Ngozi Okonkwo', relationship: 'MOTHER', phone: '+447700900123' }];
    expect(visitPupilFor(sam, visit(), cleared, pupil, contacts)).toEqual({
      pupil: { mis_id: 'P1', forename: 'Amelia', surname: 'Okonkwo', year_group: '7' },
      contacts: [],
      pupilDetailsWithheld: true,
    });
    expect(visitPupilFor(sam, visit({ authorisedAt: at }), cleared, pupil, contacts)).toEqual({
      pupil,
      contacts,
      pupilDetailsWithheld: false,
    });
    expect(visitPupilFor(sam, visit(), cleared, undefined, [])).toEqual({
      pupil: null,
      contacts: [],
      pupilDetailsWithheld: true,
    });
  });
});

describe('the pupil search', () => {
  const match: PupilMatch = {
    mis_id: 'P1',
    forename: 'Amelia',
    surname: 'Okonkwo',
    year_group: '7',
    address: { line1: '1 High Street', postcode: 'AB1 2CD' },
    contacts: [{ name: 'Ngozi Okonkwo', relationship: 'MOTHER', parentalResponsibility: true }],
  };

  it('gives visiting staff no address or contacts, only whether the MIS has an address', () => {
    expect(pupilMatchFor(sam, match)).toEqual({
      mis_id: 'P1',
      forename: 'Amelia',
      surname: 'Okonkwo',
      year_group: '7',
      hasAddress: true,
    });
    expect(pupilMatchFor(sam, { ...match, address: null }).hasAddress).toBe(false);
    expect(pupilMatchFor(sam, { ...match, address: { line1: ' ' } }).hasAddress).toBe(false);
  });

  it('gives the office and safeguarding the whole match', () => {
    for (const u of [office, dsl]) expect(pupilMatchFor(u, match)).toEqual({ ...match, hasAddress: true });
  });
});
