import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ArborSource } from '../../../connectors/mis/arbor/source.ts';
import { Secret } from '../../../src/core/secret.ts';
import { FakeArbor } from '../../helpers/fake-arbor.ts';
import { collectUnits } from '../../helpers/mis.ts';

const BASE = 'https://heathlane.uk.arbor.sc';
const AUTH = `Basic ${Buffer.from('doorstep-app:s3cret').toString('base64')}`;
const waits: number[] = [];

function source(pageSize = 2) {
  return new ArborSource({
    baseUrl: BASE,
    username: 'doorstep-app',
    password: new Secret('s3cret', 'env:T'),
    pageSize,
    now: () => new Date('2025-01-14T10:00:00Z'),
    http: { sleep: async (ms) => void waits.push(ms) },
  });
}

function fake() {
  const f = new FakeArbor(BASE, AUTH);
  f.install();
  return f;
}

const amira = {
  id: 7,
  upn: 'A123456789012',
  first: 'Amira',
  last: 'Okafor',
  dob: '2014-03-02',
  cpPlan: true,
  sen: 'E' as const,
  address: { address1: '12 Mill Lane', address2: 'Flat 2', postalTown: 'Heathbury', postalCode: 'HB1 2AA' },
  guardians: [
    { first: 'Sam', last: 'Lee', type: 'STEP_FATHER', priority: 2, legal: false, phone: '07700 900002' },
    {
      first: 'Grace',
      last: 'Okafor',
      type: 'MOTHER',
      priority: 1,
      legal: true,
      phone: '07700 900001',
      email: 'grace@example.org',
    },
  ],
};

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  waits.length = 0;
});
afterAll(() => nock.enableNetConnect());

/** Pupil 7's UkDfe_UpnAssignment `id`: a current permanent `upn` from September 2019, unless `extra` says otherwise. */
const upnRow = (id: number, upn: string, extra: Record<string, unknown> = {}) => ({
  id,
  entityType: 'UkDfe_UpnAssignment',
  student: { entityType: 'Student', id: 7, href: '/rest-v2/students/7' },
  upn,
  startDatetime: '2019-09-01 00:00:00',
  endDatetime: null,
  isTemporary: false,
  ...extra,
});

describe('Arbor MIS source (against a fake written from the published PHP client)', () => {
  it('imports a pupil from Student → Person, UPN assignment, guardians, address and CP status', async () => {
    const f = fake();
    f.addPupil(amira);
    f.addPupil({
      id: 8,
      first: 'Ben',
      last: 'Hart',
      dob: '2014-05-06',
      lac: true,
      youngCarer: true,
      sen: 'K',
    });
    const units = await collectUnits(source().pull({ value: null }));
    expect(units.map((u) => u.label)).toEqual(['arbor students changelog from revision 0']);
    expect(JSON.parse(units[0]!.cursor!)).toEqual({ students: 2, attendanceRecords: 0 });
    const batch = units[0]!.batches[0]!;
    expect(batch.kind).toBe('pupils');
    if (batch.kind !== 'pupils') return;
    expect(batch.pupils[0]).toEqual({
      misId: '7',
      upn: 'A123456789012',
      forename: 'Amira',
      surname: 'Okafor',
      preferredName: null,
      dob: '2014-03-02',
      address: { line1: '12 Mill Lane', line2: 'Flat 2', town: 'Heathbury', postcode: 'HB1 2AA' },
      flags: { cpPlan: true, lac: false, senEhcp: true, youngCarer: false },
      contacts: [
        {
          priority: 1,
          name: 'Grace Okafor',
          relationship: 'MOTHER',
          phone: '07700 900001',
          email: 'grace@example.org',
          parentalResponsibility: true,
        },
        {
          priority: 2,
          name: 'Sam Lee',
          relationship: 'STEP_FATHER',
          phone: '07700 900002',
          email: null,
          parentalResponsibility: false,
        },
      ],
      where: { unit: 'arbor students changelog from revision 0', record: 1 },
    });
    // No UPN assignment listed: the UPN is left out (kept as Doorstep had it, a CTF's), never cleared.
    expect(batch.pupils[1]).not.toHaveProperty('upn');
    expect(batch.pupils[1]).toMatchObject({
      misId: '8',
      surname: 'Hart',
      address: null,
      // An ended CP status does not count; SEN support is not an EHC plan.
      flags: { cpPlan: false, lac: true, senEhcp: false, youngCarer: true },
      contacts: [],
    });
    // The first changelog read carries no from-revision (as the SDK sends it); filters name the student.
    expect(f.requests[0]).toBe('/rest-v2/students/changelog');
    // A full page (page-size rows) is followed by the next page.
    expect(f.requests).toContain(
      `/rest-v2/StudentGuardianRelationships?${new URLSearchParams({ 'filters.student.equals': '/rest-v2/students/7', page: '2', 'page-size': '2' })}`,
    );
    expect(f.requests).toContain(
      `/rest-v2/UkDfe_UpnAssignments?${new URLSearchParams({ 'filters.student.equals': '/rest-v2/students/7', page: '1', 'page-size': '2' })}`,
    );
  });

  it('reads marks with AM/PM from the session and meaning from the AttendanceMark flags', async () => {
    const f = fake();
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    f.addMark(100, 7, 1, 'UNAUTH_N');
    f.addMark(101, 7, 2, 'ILLNESS');
    f.addMark(102, 7, 1, 'PRESENT_AM', true);
    const units = await collectUnits(source().pull({ value: null }));
    const marks = units[1]!.batches[0]!;
    // The deleted record (102) is named by its id, to take its mark off the session it gave one.
    expect(units[1]!.batches[1]).toEqual({
      kind: 'removals',
      removals: [
        { recordId: '102', where: { unit: 'arbor attendance-records changelog from revision 0', record: 3 } },
      ],
    });
    expect(marks).toEqual({
      kind: 'marks',
      marks: [
        {
          pupilMisId: '7',
          date: '2025-01-13',
          // The record starts at 12:10 (a late arrival), but it belongs to the AM register.
          session: 'AM',
          mark: 'N',
          minutesLate: null,
          vendorCategory: 'unauthorised_absence',
          recordId: '100',
          where: { unit: 'arbor attendance-records changelog from revision 0', record: 1 },
        },
        {
          pupilMisId: '7',
          date: '2025-01-13',
          session: 'PM',
          mark: 'I',
          minutesLate: null,
          vendorCategory: 'authorised_absence',
          recordId: '101',
          where: { unit: 'arbor attendance-records changelog from revision 0', record: 2 },
        },
      ],
    });
    expect(JSON.parse(units[1]!.cursor!)).toEqual({ students: 1, attendanceRecords: 4 });
    // Each mark and session is read once per sync.
    expect(f.requests.filter((r) => r.startsWith('/rest-v2/sessions/'))).toHaveLength(2);
  });

  it('follows the changelog by revision until nothing newer comes back, and resumes from the cursor', async () => {
    const f = fake();
    f.changelogChunk = 2;
    for (const id of [7, 8, 9]) f.addPupil({ id, first: 'T', last: `P${id}`, dob: '2015-01-01' });
    const units = await collectUnits(source().pull({ value: null }));
    expect(units.map((u) => [u.label, JSON.parse(u.cursor!).students])).toEqual([
      ['arbor students changelog from revision 0', 2],
      ['arbor students changelog from revision 2', 3],
    ]);
    f.addPupil({ id: 10, first: 'T', last: 'P10', dob: '2015-01-01' });
    const again = await collectUnits(
      source().pull({ value: JSON.stringify({ students: 3, attendanceRecords: 0 }) }),
    );
    expect(again).toHaveLength(1);
    expect(again[0]!.batches[0]).toMatchObject({ kind: 'pupils', pupils: [{ misId: '10' }] });
    expect(f.requests).toContain('/rest-v2/students/changelog?from-revision=3');
  });

  it('turns a deleted student into a leaver (off-roll), never a deletion', async () => {
    const f = fake();
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    f.removePupil(7);
    const units = await collectUnits(source().pull({ value: null }));
    expect(units[0]!.batches).toContainEqual({
      kind: 'leavers',
      leavers: [
        {
          misId: '7',
          // The changelog says when it was deleted, not when they left: the day read, marked so.
          leftOn: '2025-01-14',
          undated: true,
          // Numbered after the unit's live students: the deleted student is one of them too (record 1).
          where: { unit: 'arbor students changelog from revision 0', record: 2 },
        },
      ],
    });
  });

  it('numbers deleted students after the live ones, so each row of a unit has its own record number', async () => {
    const f = fake();
    const label = 'arbor students changelog from revision 0';
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    // Created then deleted in one unit: read as a pupil (to be a leaver) and a leaver.
    f.addPupil({ id: 8, first: 'C', last: 'D', dob: '2014-01-01' });
    f.removePupil(8);
    // Deleted only (created before the cursor).
    f.removePupil(9);
    const units = await collectUnits(source().pull({ value: null }));
    expect(units).toHaveLength(1);
    const rows = units[0]!.batches.flatMap((b) =>
      b.kind === 'pupils'
        ? b.pupils.map((p) => `pupil ${p.misId} ${JSON.stringify(p.where)}`)
        : b.kind === 'leavers'
          ? b.leavers.map((l) => `leaver ${l.misId} ${JSON.stringify(l.where)}`)
          : [],
    );
    expect(rows).toEqual([
      `pupil 7 ${JSON.stringify({ unit: label, record: 1 })}`,
      `pupil 8 ${JSON.stringify({ unit: label, record: 2 })}`,
      `leaver 8 ${JSON.stringify({ unit: label, record: 3 })}`,
      `leaver 9 ${JSON.stringify({ unit: label, record: 4 })}`,
    ]);
  });

  it('refuses a mark whose session is not a registration session, naming the field', async () => {
    const f = fake();
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    f.addMark(100, 7, 1, 'UNAUTH_N');
    f.objects.set('/rest-v2/sessions/1', [
      'session',
      { startDatetime: '2025-01-13 10:00:00', sessionName: 'Maths 7B' },
    ]);
    await expect(collectUnits(source().pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message: expect.stringContaining(
        'field session.sessionName: expected a registration session named AM or PM',
      ),
    });
  });

  it('tells a statutory session by its register type (isMorning / isAfternoon), whatever its name, and leaves a lesson register out — never refusing the page for it', async () => {
    const f = fake();
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    f.addRegisterSession(11, '2025-01-14 08:45:00', 'Morning registration', {
      code: 'MORNING',
      isMorning: true,
      isAfternoon: false,
    });
    f.addRegisterSession(12, '2025-01-14 13:05:00', 'Afternoon reg', {
      code: 'AFTERNOON',
      isMorning: false,
      isAfternoon: true,
    });
    // A secondary school's lesson register: its type neither, its session a lesson's.
    f.addRegisterSession(
      13,
      '2025-01-14 10:00:00',
      'Maths 7X1',
      { code: 'LESSON', isMorning: false, isAfternoon: false },
      5,
    );
    // A lesson with no register type at all: told by its academic unit.
    f.addRegisterSession(14, '2025-01-14 11:00:00', 'English 7X1', null, 6);
    // A register type that does not say (its flags empty): told by the session's name, never left out.
    f.addRegisterSession(15, '2025-01-15 08:45:00', 'AM registration', {
      code: 'REG',
      isMorning: null,
      isAfternoon: null,
    });
    f.addMark(200, 7, 11, 'UNAUTH_N');
    f.addMark(201, 7, 13, 'UNAUTH_N');
    f.addMark(202, 7, 14, 'UNAUTH_N');
    f.addMark(203, 7, 12, 'UNAUTH_N');
    // …and one that does not say, named as no registration (a breakfast club): no statutory session,
    // never the page refused (every later sync with it).
    f.addRegisterSession(16, '2025-01-15 07:45:00', 'Breakfast Club', {
      code: 'CLUB',
      isMorning: null,
      isAfternoon: false,
    });
    // A type that says neither is no statutory session, even named PM…; empty flags on a session
    // named for its half of the day ("Afternoon registration") are that session.
    f.addRegisterSession(17, '2025-01-15 15:30:00', 'PM Football Club', {
      code: 'CLUB2',
      isMorning: false,
      isAfternoon: false,
    });
    f.addRegisterSession(18, '2025-01-15 13:05:00', 'Afternoon registration', {
      code: 'REG2',
      isMorning: null,
      isAfternoon: null,
    });
    f.addMark(204, 7, 15, 'UNAUTH_N');
    f.addMark(205, 7, 16, 'UNAUTH_N');
    f.addMark(206, 7, 17, 'UNAUTH_N');
    f.addMark(207, 7, 18, 'UNAUTH_N');
    const units = await collectUnits(source().pull({ value: null }));
    const marks = units[1]!.batches[0]!;
    expect(
      marks.kind === 'marks' && marks.marks.map((m) => `${m.date} ${m.session} ${m.mark} #${m.recordId}`),
    ).toEqual([
      '2025-01-14 AM N #200',
      '2025-01-14 PM N #203',
      '2025-01-15 AM N #204',
      '2025-01-15 PM N #207',
    ]);
  });

  it('does not follow an href off the Arbor host', async () => {
    const f = fake();
    f.studentChanges.push({
      changeType: 'CREATE',
      fromRevision: 0,
      toRevision: 1,
      changedObject: {
        entityType: 'Student',
        id: 7,
        person: { entityType: 'Person', href: '//evil.example/x' },
      },
    });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toThrow(
      /person\.href: expected a \/rest-v2/,
    );
    expect(f.requests).toEqual(['/rest-v2/students/changelog']);
  });

  it('stops at once on bad credentials, without retrying', async () => {
    fake();
    const wrong = new ArborSource({
      baseUrl: BASE,
      username: 'doorstep-app',
      password: new Secret('wrong', 'env:T'),
      http: { sleep: async (ms) => void waits.push(ms) },
    });
    await expect(collectUnits(wrong.pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_AUTH',
      message: expect.stringContaining('HTTP 401 — the credentials were refused'),
    });
    expect(waits).toEqual([]);
  });

  it('waits as Retry-After says on 429 and backs off on 5xx, then goes on', async () => {
    const f = fake();
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    f.failures.push(
      { path: /changelog$/, status: 429, headers: { 'Retry-After': '7' } },
      { path: /^\/rest-v2\/people\//, status: 503 },
    );
    const units = await collectUnits(source().pull({ value: null }));
    expect(units).toHaveLength(1);
    expect(waits).toEqual([7000, 1000]);
  });

  it('fails after its tries when the rate limit persists', async () => {
    const f = fake();
    for (let i = 0; i < 3; i++)
      f.failures.push({ path: /changelog$/, status: 429, headers: { 'Retry-After': '2' } });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_RATE_LIMITED',
    });
    expect(waits).toEqual([2000, 2000]);
  });

  it('refuses a changelog in another shape, naming the field', async () => {
    const f = fake();
    f.failures.push({
      path: /changelog$/,
      status: 200,
      body: { changes: [{ changeType: 'UPDATE', revision: 3, changedObject: { id: 1 } }] },
    });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      message: expect.stringMatching(/unexpected response shape at changes\.0\.fromRevision/),
    });
  });

  it('a changelog answer without "changes" is no changes (RestGateway::getChanges), on the same terms as a query: anything else is refused', async () => {
    for (const body of [{}, { response: { code: 200, reason: 'OK' } }, { response: { code: 201 } }]) {
      const f = fake();
      f.failures.push({ path: /students\/changelog$/, status: 200, body });
      f.failures.push({ path: /attendance-records\/changelog$/, status: 200, body });
      // Up to date: nothing to import, not a sync that fails at every run.
      expect(await collectUnits(source().pull({ value: null })), JSON.stringify(body)).toEqual([]);
      nock.cleanAll();
    }
    for (const [body, got] of [
      [
        { message: 'partial outage' },
        'changes: expected the list "changes" (or an empty answer); got only message',
      ],
      [
        { response: { code: 500, reason: 'Server Error' } },
        `changes: expected the list "changes"; got Arbor's error envelope (response code 500)`,
      ],
      // The error envelope with its list beside it is no answer either.
      [
        { response: { code: 500 }, changes: [] },
        `changes: expected the list "changes"; got Arbor's error envelope (response code 500)`,
      ],
    ] as const) {
      const f = fake();
      f.failures.push({ path: /students\/changelog$/, status: 200, body });
      await expect(collectUnits(source().pull({ value: null })), got).rejects.toMatchObject({
        code: 'DOORSTEP_MIS_BAD_RESPONSE',
        message: expect.stringContaining(got),
      });
      nock.cleanAll();
    }
  });

  it('an answer with no list that is not an empty one (something in front of Arbor) is refused, never read as "no CP plan"', async () => {
    const f = fake();
    f.addPupil({ ...amira });
    f.failures.push({
      path: /ChildProtectionStatusAssignments/,
      status: 200,
      body: { message: 'partial outage' },
    });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      message: expect.stringMatching(
        /childProtectionStatusAssignments: expected the list "childProtectionStatusAssignments" \(or an empty answer\); got only message/,
      ),
    });
    // An empty answer (no root, or Arbor's success envelope) is an empty list, as in the SDK.
    nock.cleanAll();
    for (const body of [{}, { response: { code: 200 } }]) {
      const g = fake();
      g.addPupil({ ...amira, cpPlan: false });
      g.failures.push({ path: /ChildProtectionStatusAssignments/, status: 200, body });
      const units = await collectUnits(source().pull({ value: null }));
      expect(units[0]!.batches[0]).toMatchObject({
        kind: 'pupils',
        pupils: [{ misId: '7', flags: { cpPlan: false } }],
      });
      nock.cleanAll();
    }
  });

  it('reads a date that does not exist as unknown: no date of birth, a CP plan with no readable end', async () => {
    const f = fake();
    // PHP's zero date (what PHP-backed APIs send for "not set") and a 30 February.
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '0000-00-00' });
    f.addPupil({ id: 8, first: 'C', last: 'D', dob: '2015-02-30' });
    f.lists.get('ChildProtectionStatusAssignments')!.push({
      id: 9001,
      entityType: 'ChildProtectionStatusAssignment',
      student: { entityType: 'Student', id: 8, href: '/rest-v2/students/8' },
      startDate: '2024-11-01',
      endDate: '0000-00-00',
    });
    const units = await collectUnits(source().pull({ value: null }));
    expect(units[0]!.batches[0]).toMatchObject({
      kind: 'pupils',
      pupils: [
        { misId: '7', dob: null, flags: { cpPlan: false } },
        { misId: '8', dob: null, flags: { cpPlan: true } },
      ],
    });
  });

  it('refuses a mark whose session is on a day that does not exist, as a response error not retried', async () => {
    const f = fake();
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    f.addSession(3, '2024-11-31 08:40:00', 'AM');
    f.addMark(100, 7, 3, 'UNAUTH_N');
    await expect(collectUnits(source().pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_BAD_RESPONSE',
      retry: 'permanent',
      message: expect.stringMatching(
        /Arbor session \(https:\/\/heathlane\.uk\.arbor\.sc\/rest-v2\/sessions\/3\): unexpected response shape at session\.startDatetime: expected a real calendar date/,
      ),
    });
  });

  it('stops a query whose pages never end, naming the query and the limit', async () => {
    let asked = 0;
    // Registered before the fake, so it answers first: a full page whatever `page` says.
    nock(BASE)
      .persist()
      .get('/rest-v2/UkDfe_UpnAssignments')
      .query(true)
      .reply(() => {
        asked++;
        // Bounded here too, so the test fails rather than hangs without the limit.
        if (asked > 100) return [404, {}];
        const row = { upn: 'A123456789012', startDatetime: '2020-01-01', isTemporary: false };
        return [200, { ukDfe_UpnAssignments: [row, row] }];
      });
    const f = fake();
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    await expect(collectUnits(source().pull({ value: null }))).rejects.toMatchObject({
      code: 'DOORSTEP_IMPORT_MALFORMED',
      message:
        'Arbor UkDfe_UpnAssignments query filters.student.equals=/rest-v2/students/7, field page: more than 20 full pages of 2 rows',
    });
    expect(asked).toBe(20);
  });

  it('takes no UPN for a pupil with two different current permanent UPNs, whichever order Arbor lists them in, and names both records', async () => {
    const first = upnRow(901, 'A123456789012');
    const second = upnRow(902, 'B123456789012', { startDatetime: '2024-09-01 00:00:00' });
    for (const rows of [
      [first, second],
      [second, first],
    ]) {
      const f = fake();
      f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
      f.lists.set('UkDfe_UpnAssignments', rows);
      const units = await collectUnits(source().pull({ value: null }));
      const batch = units[0]!.batches[0]!;
      if (batch.kind !== 'pupils') throw new Error(batch.kind);
      const pupil = batch.pupils[0]!;
      expect(pupil.misId).toBe('7');
      // Neither is taken (the UPN Doorstep had is kept): the pupil and the rest of the record are.
      expect(pupil).not.toHaveProperty('upn');
      expect(pupil.surname).toBe('B');
      expect(pupil.unusable).toEqual([
        {
          field: 'upn (UkDfe_UpnAssignments 901 and 902: 2 different current permanent UPNs)',
          expected:
            "one current permanent UPN (which is the pupil's cannot be told: end the wrong assignment in Arbor)",
        },
      ]);
      nock.cleanAll();
    }
  });

  it('a UPN listed twice, an ended one or a temporary one beside a permanent one is no conflict', async () => {
    const f = fake();
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    f.lists.set('UkDfe_UpnAssignments', [
      upnRow(900, 'Z123456789012', { endDatetime: '2024-08-31 00:00:00' }),
      upnRow(901, 'T12345678901A', { isTemporary: true }),
      upnRow(902, 'A123456789012'),
      upnRow(903, 'A123456789012', { startDatetime: '2024-09-01 00:00:00' }),
    ]);
    const units = await collectUnits(source().pull({ value: null }));
    const batch = units[0]!.batches[0]!;
    if (batch.kind !== 'pupils') throw new Error(batch.kind);
    expect(batch.pupils[0]).toMatchObject({ misId: '7', upn: 'A123456789012' });
    expect(batch.pupils[0]!.unusable).toBeUndefined();
  });

  it('reads a changelog answer of 200,000 changes (too many to spread into a call)', async () => {
    const f = fake();
    const n = 200_000;
    f.failures.push({
      path: /students\/changelog$/,
      status: 200,
      body: {
        changes: Array.from({ length: n }, (_, i) => ({
          changeType: 'DELETE',
          fromRevision: i,
          toRevision: i + 1,
          changedObject: { id: i + 1 },
        })),
      },
    });
    const units = await collectUnits(source().pull({ value: null }));
    expect(JSON.parse(units[0]!.cursor!)).toEqual({ students: n, attendanceRecords: 0 });
    expect(units[0]!.batches[0]).toMatchObject({ kind: 'leavers' });
  }, 60_000);

  it('tests the connection with a one-row query', async () => {
    const f = fake();
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-01-01' });
    expect(await source().check()).toMatchObject({ ok: true, name: 'mis:arbor' });
    expect(f.requests).toEqual(['/rest-v2/Students?page=1&page-size=1']);
    f.failures.push({ path: /Students$/, status: 403 });
    expect(await source().check()).toMatchObject({ ok: false, detail: expect.stringContaining('HTTP 403') });
  });
});
