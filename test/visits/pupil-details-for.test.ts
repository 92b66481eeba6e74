import { describe, expect, it } from 'vitest';
import type { UserRole } from '../../src/domain/roles.ts';
import type { PupilMatch } from '../../src/store/pupils.ts';
import type { User } from '../../src/store/users.ts';
import { pupilMatchFor, seesPupilDetails, visitPupilFor } from '../../src/visits/pupil-details-for.ts';

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
    for (const u of [office, dsl, admin]) expect(seesPupilDetails(u, visit())).toBe(true);
  });

  it('visiting staff: only the lead or partner, once the visit is authorised, assessed or out', () => {
    expect(seesPupilDetails(sam, visit())).toBe(false);
    expect(seesPupilDetails(sam, visit({ authorisedAt: at }))).toBe(true);
    expect(seesPupilDetails(sam, visit({ riskAssessedAt: at }))).toBe(true);
    expect(seesPupilDetails(sam, visit({ departedAt: at }))).toBe(true);
    expect(seesPupilDetails(kim, visit({ authorisedAt: at }))).toBe(false);
    expect(seesPupilDetails(kim, visit({ authorisedAt: at, partnerUserId: '2' }))).toBe(true);
    expect(seesPupilDetails(kim, visit({ leadUserId: null, authorisedAt: at }))).toBe(false);
    // A second role that gives no right to the pupil's record does not widen the first.
    expect(seesPupilDetails(dataVisitor, visit({ leadUserId: '6' }))).toBe(false);
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
    expect(visitPupilFor(sam, visit(), pupil, contacts)).toEqual({
      pupil: { mis_id: 'P1', forename: 'Amelia', surname: 'Okonkwo', year_group: '7' },
      contacts: [],
      pupilDetailsWithheld: true,
    });
    expect(visitPupilFor(sam, visit({ authorisedAt: at }), pupil, contacts)).toEqual({
      pupil,
      contacts,
      pupilDetailsWithheld: false,
    });
    expect(visitPupilFor(sam, visit(), undefined, [])).toEqual({
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
