import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ArborSource } from '../../../connectors/mis/arbor/source.ts';
import type { PupilRecord } from '../../../connectors/mis/types.ts';
import { Secret } from '../../../src/core/secret.ts';
import { FAKE_ARBOR_AUTH, FakeArbor, type FakePupil, fakeArborSource } from '../../helpers/fake-arbor.ts';
import { collectUnits } from '../../helpers/mis.ts';

/**
 * Arbor may list a query's rows as references only — `{entityType, id, href}` — and the published
 * client (arbor-education/sis-sdk-php) is written for it: src/Arbor/Api/Gateway/RestGateway.php
 * `query` hydrates each row into a model, and src/Arbor/Model/ModelBase.php `getProperty` fetches the
 * object at its href (RestGateway::refresh) for any property the row lacks. Doorstep once read such
 * rows as whole objects: an ended CP plan counted as current, the UPN was sent as null, and a guardian
 * relationship listed as a reference refused the sync at that pupil at every run.
 */

const BASE = 'https://heathlane.uk.arbor.sc';
const NOW = () => new Date('2025-01-14T10:00:00Z');

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const ref = (entityType: string, path: string, id: number | string) => ({
  entityType,
  id,
  href: `/rest-v2/${path}/${id}`,
});

const source = () =>
  new ArborSource({
    baseUrl: BASE,
    username: 'u',
    password: new Secret('p', 'env:T'),
    now: NOW,
    http: { sleep: async () => {} },
  });

/** Written by hand from the published client's shapes (not from Doorstep's wire.ts, nor the fake). */
function arbor(
  guardianRows: unknown[] = [],
  cpAtHref: Record<string, unknown> = { id: 5, startDate: '2022-01-10', endDate: '2023-07-01' },
) {
  return nock(BASE)
    .persist()
    .get('/rest-v2/students/changelog')
    .reply(200, {
      changes: [
        {
          changeType: 'CREATE',
          fromRevision: 0,
          toRevision: 1,
          changedObject: { entityType: 'Student', id: 7, person: ref('Person', 'persons', 70) },
        },
      ],
    })
    .get('/rest-v2/students/changelog?from-revision=1')
    .reply(200, { changes: [] })
    .get('/rest-v2/attendance-records/changelog')
    .reply(200, { changes: [] })
    .get('/rest-v2/persons/70')
    .reply(200, {
      person: { id: 70, legalFirstName: 'Amira', legalLastName: 'Okafor', dateOfBirth: '2014-03-02' },
    })
    .get(/\/rest-v2\/UkDfe_UpnAssignments\?/)
    .reply(200, { ukDfe_UpnAssignments: [ref('UkDfe_UpnAssignment', 'uk-dfe-upn-assignments', 1)] })
    .get('/rest-v2/uk-dfe-upn-assignments/1')
    .reply(200, {
      ukDfe_UpnAssignment: {
        id: 1,
        upn: 'A123456789012',
        startDatetime: '2019-09-01 00:00:00',
        endDatetime: null,
        isTemporary: false,
      },
    })
    .get(/\/rest-v2\/ChildProtectionStatusAssignments\?/)
    .reply(200, {
      childProtectionStatusAssignments: [
        ref('ChildProtectionStatusAssignment', 'child-protection-status-assignments', 5),
      ],
    })
    .get('/rest-v2/child-protection-status-assignments/5')
    .reply(200, { childProtectionStatusAssignment: cpAtHref })
    .get(
      /\/rest-v2\/(InCareStatusAssignments|UkDfe_YoungCarerStatusAssignments|SenStatusAssignments|PostalAddressOccupancies)\?/,
    )
    .reply(200, {})
    .get(/\/rest-v2\/StudentGuardianRelationships\?/)
    .reply(200, { studentGuardianRelationships: guardianRows })
    .get('/rest-v2/student-guardian-relationships/9')
    .reply(200, {
      studentGuardianRelationship: {
        id: 9,
        student: ref('Student', 'students', 7),
        guardian: ref('Guardian', 'guardians', 3),
        guardianRelationshipType: ref('GuardianRelationshipType', 'guardian-relationship-types', 'MOTHER'),
        isLegalGuardian: true,
        isPrimaryGuardian: true,
        emergencyContactPriority: 1,
      },
    })
    .get('/rest-v2/guardians/3')
    .reply(200, { guardian: { id: 3, person: ref('Person', 'persons', 30) } })
    .get('/rest-v2/persons/30')
    .reply(200, { person: { id: 30, legalFirstName: 'Grace', legalLastName: 'Okafor' } })
    .get(/\/rest-v2\/TelephoneNumbers\?/)
    .reply(200, { telephoneNumbers: [ref('TelephoneNumber', 'telephone-numbers', 31)] })
    .get('/rest-v2/telephone-numbers/31')
    .reply(200, {
      telephoneNumber: {
        id: 31,
        number: '07700 900001',
        telephoneNumberRanking: 1,
        numberOwner: ref('Person', 'persons', 30),
      },
    })
    .get(/\/rest-v2\/EmailAddresses\?/)
    .reply(200, {});
}

async function firstPupils(src: ArborSource): Promise<PupilRecord[]> {
  const units = await collectUnits(src.pull({ value: null }));
  const b = units[0]!.batches[0]!;
  if (b.kind !== 'pupils') throw new Error(b.kind);
  return b.pupils;
}

describe('Arbor query rows listed as references', () => {
  it('reads a pupil whose query rows are references (UPN kept, ended CP plan not current)', async () => {
    arbor();
    const [pupil] = await firstPupils(source());
    expect(pupil!.flags?.cpPlan).toBe(false);
    expect(pupil!.upn).toBe('A123456789012');
  });

  it('a current CP plan whose endDate Arbor leaves out, even read whole at its href, is not set: the flag is set', async () => {
    // ModelBase::getProperty refreshes the model once, then answers null for a property still missing:
    // in the client, a left-out end date is an open-ended assignment.
    arbor([], { id: 5, startDate: '2024-09-01' });
    const [pupil] = await firstPupils(source());
    expect(pupil!.flags?.cpPlan).toBe(true);
  });

  it('reads a guardian relationship listed as a reference', async () => {
    arbor([ref('StudentGuardianRelationship', 'student-guardian-relationships', 9)]);
    const [pupil] = await firstPupils(source());
    expect(pupil!.contacts).toEqual([
      {
        priority: 1,
        name: 'Grace Okafor',
        relationship: 'MOTHER',
        phone: '07700 900001',
        email: null,
        parentalResponsibility: true,
      },
    ]);
  });

  const amira: FakePupil = {
    id: 7,
    upn: 'A123456789012',
    first: 'Amira',
    last: 'Okafor',
    dob: '2014-03-02',
    cpPlan: true,
    sen: 'E',
    youngCarer: true,
    address: { address1: '12 Mill Lane', address2: 'Flat 2', postalTown: 'Heathbury', postalCode: 'HB1 2AA' },
    guardians: [
      { first: 'Sam', last: 'Lee', type: 'STEP_FATHER', priority: 2, legal: false, phone: '07700 900002' },
      {
        first: 'Grace',
        last: 'Okafor',
        type: 'MOTHER',
        priority: 1,
        legal: true,
        email: 'grace@example.org',
      },
    ],
  };

  it('reads the same pupil whether Arbor lists whole rows or references (and whole or bare changed students)', async () => {
    const read = async (references: boolean) => {
      const f = new FakeArbor(BASE, FAKE_ARBOR_AUTH);
      f.listsAsReferences = references;
      f.studentChangesAsReferences = references;
      f.install();
      f.addPupil(amira);
      f.addPupil({ id: 8, first: 'Ben', last: 'Hart', dob: '2014-05-06', lac: true });
      const pupils = await firstPupils(fakeArborSource(BASE, NOW));
      nock.cleanAll();
      return { pupils, requests: f.requests };
    };
    const whole = await read(false);
    const refs = await read(true);
    expect(refs.pupils).toEqual(whole.pupils);
    expect(whole.pupils[0]).toMatchObject({
      misId: '7',
      upn: 'A123456789012',
      forename: 'Amira',
      address: { line1: '12 Mill Lane', postcode: 'HB1 2AA' },
      // The fake also lists an ended CP status for every pupil: not current.
      flags: { cpPlan: true, lac: false, senEhcp: true, youngCarer: true },
      contacts: [
        { name: 'Grace Okafor', email: 'grace@example.org' },
        { name: 'Sam Lee', phone: '07700 900002' },
      ],
    });
    expect(whole.pupils[1]).toMatchObject({ misId: '8', flags: { cpPlan: false, lac: true } });
    // Whole rows are not read again; references are each read at their href (the student too).
    expect(whole.requests.filter((r) => r.startsWith('/rest-v2/child-protection'))).toEqual([]);
    expect(refs.requests).toContain('/rest-v2/students/7');
    expect(
      refs.requests.filter((r) => r.startsWith('/rest-v2/child-protection-status-assignments/')),
    ).toHaveLength(3);
  });

  it('a reference read is retried as any Arbor read is (its Retry-After honoured), then goes on', async () => {
    const f = new FakeArbor(BASE, FAKE_ARBOR_AUTH);
    f.listsAsReferences = true;
    f.install();
    f.addPupil(amira);
    f.failures.push({ path: /^\/rest-v2\/child-protection-status-assignments\//, status: 503 });
    f.failures.push({
      path: /^\/rest-v2\/uk-dfe_upn-assignments\//,
      status: 429,
      headers: { 'Retry-After': '1' },
    });
    const [pupil] = await firstPupils(fakeArborSource(BASE, NOW));
    expect(pupil).toMatchObject({ upn: 'A123456789012', flags: { cpPlan: true } });
    expect(f.failures).toEqual([]);
  });

  it('never follows a reference off the school’s Arbor: the query is refused, naming it', async () => {
    const f = new FakeArbor(BASE, FAKE_ARBOR_AUTH);
    f.install();
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    f.lists.set('InCareStatusAssignments', [
      {
        entityType: 'InCareStatusAssignment',
        id: 1,
        href: 'https://elsewhere.example/rest-v2/x/1',
        // What the fake filters the query by (Arbor does so on its side): the row itself lacks its dates.
        student: ref('Student', 'students', 7),
      },
    ]);
    await expect(collectUnits(fakeArborSource(BASE, NOW).pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: expect.stringMatching(
        /^Arbor InCareStatusAssignments query filters\.student\.equals=\/rest-v2\/students\/7, field inCareStatusAssignment\.href: expected a \/rest-v2\/… path/,
      ),
    });
    expect(f.requests.some((r) => r.includes('elsewhere'))).toBe(false);
  });

  it('a date left out of an object read whole is not set, as in the client: the assignment holds, the flag is set', async () => {
    const f = new FakeArbor(BASE, FAKE_ARBOR_AUTH);
    f.install();
    f.addPupil({
      id: 7,
      first: 'A',
      last: 'B',
      dob: '2014-01-01',
      address: { address1: '12 Mill Lane', postalTown: 'Heathbury', postalCode: 'HB1 2AA' },
    });
    const student = ref('Student', 'students', 7);
    // Listed with its href, read there, and still without an end date: open-ended.
    const cp = { entityType: 'ChildProtectionStatusAssignment', id: 5, startDate: '2024-09-01' };
    const cpHref = '/rest-v2/child-protection-status-assignments/5';
    f.lists.get('ChildProtectionStatusAssignments')!.push({ ...cp, href: cpHref, student });
    f.objects.set(cpHref, ['childProtectionStatusAssignment', { ...cp, href: cpHref }]);
    // Listed without an href (nothing more to read) and without any date: held since ever, still held.
    f.lists.set('UkDfe_YoungCarerStatusAssignments', [
      { entityType: 'UkDfe_YoungCarerStatusAssignment', student },
    ]);
    f.lists.set('UkDfe_UpnAssignments', [
      { entityType: 'UkDfe_UpnAssignment', student, upn: 'A123456789012', isTemporary: false },
    ]);
    // The home occupancy without its end date (in the list and at its href alike).
    delete f.lists.get('PostalAddressOccupancies')![0]!.endDate;
    const [pupil] = await firstPupils(fakeArborSource(BASE, NOW));
    // The ended CP status the fake lists beside it does not clear it.
    expect(pupil!.flags).toEqual({ cpPlan: true, lac: false, senEhcp: false, youngCarer: true });
    expect(pupil).toMatchObject({ upn: 'A123456789012', address: { line1: '12 Mill Lane' } });
    expect(f.requests).toContain(cpHref);
  });

  it('the UPN is cleared only when assignments carry one, every one that does has ended, and no current one carries none', async () => {
    const upnOf = async (rows: Record<string, unknown>[] | null) => {
      const f = new FakeArbor(BASE, FAKE_ARBOR_AUTH);
      f.install();
      f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
      if (rows) f.lists.set('UkDfe_UpnAssignments', rows);
      const [pupil] = await firstPupils(fakeArborSource(BASE, NOW));
      nock.cleanAll();
      return pupil;
    };
    const row = (extra: Record<string, unknown>) => ({
      entityType: 'UkDfe_UpnAssignment',
      student: ref('Student', 'students', 7),
      startDatetime: '2019-09-01 00:00:00',
      isTemporary: false,
      ...extra,
    });
    const ended = row({ upn: 'A123456789012', endDatetime: '2024-08-31 00:00:00' });
    expect(await upnOf([ended])).toHaveProperty('upn', null);
    // An ended assignment carrying none beside it does not keep it.
    expect(await upnOf([ended, row({ upn: null, endDatetime: '2024-08-31 00:00:00' })])).toHaveProperty(
      'upn',
      null,
    );
    // None listed, or none carrying one: kept (left out), never sent as null.
    expect(await upnOf(null)).not.toHaveProperty('upn');
    expect(await upnOf([row({ endDatetime: null })])).not.toHaveProperty('upn');
    expect(await upnOf([row({ upn: null, endDatetime: null })])).not.toHaveProperty('upn');
    // An ended one beside a current one carrying none (null, blank or left out, no end date): the
    // pupil holds a UPN Arbor does not say — kept.
    expect(await upnOf([ended, row({})])).not.toHaveProperty('upn');
    expect(await upnOf([ended, row({ upn: null, endDatetime: null })])).not.toHaveProperty('upn');
    expect(await upnOf([ended, row({ upn: '  ', endDatetime: null })])).not.toHaveProperty('upn');
    // A current one carrying a UPN beside the ended one: that UPN.
    expect(await upnOf([ended, row({ upn: 'B123456789012', endDatetime: null })])).toHaveProperty(
      'upn',
      'B123456789012',
    );
  });
});
