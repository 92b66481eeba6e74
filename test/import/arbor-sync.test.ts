import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../src/config/policy-packs.ts';
import { syncSchool } from '../../src/import/sync-school.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { setManualFlag } from '../../src/store/pupils.ts';
import { findingsFor } from '../../src/triggers/evaluate-school.ts';
import { configWith } from '../helpers/config.ts';
import { FAKE_ARBOR_AUTH, FakeArbor, fakeArborSource } from '../helpers/fake-arbor.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * An Arbor school end to end: a sync against the fake Arbor (payloads as Arbor's published client
 * defines them) stores pupils with UPN, names, address, contacts and CP status, the marks with their
 * statutory codes, reports a mark Arbor counts differently from the DfE table, marks a deleted
 * student off-roll — and a pupil with a CP plan absent today raises Heath Lane's vulnerable-absent
 * trigger from that data.
 */
const BASE = 'https://heathlane.uk.arbor.sc';
const AUTH = FAKE_ARBOR_AUTH;
const NOW = new Date('2025-01-13T15:00:00Z');
const schema = uniqueName('arbor_sync');
let db: Db;
const config = configWith({
  mis: `{ kind: arbor, baseUrl: "${BASE}", username: doorstep-app, password: "\${ARBOR_PW}" }`,
  env: { ARBOR_PW: 's3cret' },
  school: `    calendar:
      terms: [{ start: "2025-01-06", end: "2025-02-14" }]
`,
});
const school = { ...config.schools[0]!, policies: ['heath-lane'] };

const source = () => fakeArborSource(BASE, () => NOW);
const sync = () => syncSchool(db, school, source(), { now: () => NOW, actor: 'system:sync' });

beforeAll(async () => {
  nock.disableNetConnect();
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await db.close();
  await dropSchema(schema);
});

describe('Arbor sync into the store', () => {
  it('imports pupils, contacts and marks; reports a vendor/DfE disagreement; leavers go off-roll', async () => {
    const f = new FakeArbor(BASE, AUTH);
    f.addPupil({
      id: 7,
      upn: 'A123456789012',
      first: 'Amira',
      last: 'Okafor',
      dob: '2014-03-02',
      cpPlan: true,
      address: { address1: '12 Mill Lane', postalTown: 'Heathbury', postalCode: 'HB1 2AA' },
      guardians: [
        { first: 'Sam', last: 'Lee', type: 'STEP_FATHER', priority: 1, legal: false, phone: '07700 900002' },
        { first: 'Grace', last: 'Okafor', type: 'MOTHER', priority: 2, legal: true, phone: '07700 900001' },
      ],
    });
    f.addPupil({ id: 8, upn: 'B123456789012', first: 'Ben', last: 'Hart', dob: '2014-05-06' });
    f.addPupil({ id: 9, first: 'Cara', last: 'Dunn', dob: '2014-07-08' });
    f.addMark(100, 7, 1, 'UNAUTH_N');
    f.addMark(101, 7, 2, 'UNAUTH_N');
    f.addMark(102, 8, 1, 'ILLNESS_MISCOUNTED');
    f.addMark(103, 8, 2, 'ILLNESS');
    f.removePupil(9);
    f.install();

    const report = await sync();
    expect(report.refused).toEqual([]);

    const { rows: pupils } = await db.query<Record<string, unknown>>(
      `SELECT mis_id, upn, forename, surname, to_char(dob, 'YYYY-MM-DD') AS dob, address, flags,
              to_char(left_on, 'YYYY-MM-DD') AS left_on FROM pupils WHERE school_id = 'alpha' ORDER BY mis_id`,
    );
    expect(pupils).toEqual([
      {
        mis_id: '7',
        upn: 'A123456789012',
        forename: 'Amira',
        surname: 'Okafor',
        dob: '2014-03-02',
        address: { line1: '12 Mill Lane', line2: null, town: 'Heathbury', postcode: 'HB1 2AA' },
        flags: { cpPlan: true, lac: false, senEhcp: false, youngCarer: false },
        left_on: null,
      },
      expect.objectContaining({
        mis_id: '8',
        upn: 'B123456789012',
        flags: { cpPlan: false, lac: false, senEhcp: false, youngCarer: false },
        left_on: null,
      }),
      // Deleted in Arbor: kept, with its history, and marked off-roll.
      expect.objectContaining({ mis_id: '9', surname: 'Dunn', left_on: '2025-01-13' }),
    ]);
    const { rows: contacts } = await db.query(
      `SELECT priority, name, relationship, phone, parental_responsibility FROM pupil_contacts
       WHERE school_id = 'alpha' AND pupil_mis_id = '7' ORDER BY priority`,
    );
    expect(contacts).toEqual([
      {
        priority: 1,
        name: 'Sam Lee',
        relationship: 'STEP_FATHER',
        phone: '07700 900002',
        parental_responsibility: false,
      },
      {
        priority: 2,
        name: 'Grace Okafor',
        relationship: 'MOTHER',
        phone: '07700 900001',
        parental_responsibility: true,
      },
    ]);

    const { rows: marks } = await db.query(
      `SELECT pupil_mis_id, session, code, category FROM attendance_marks WHERE school_id = 'alpha'
       ORDER BY pupil_mis_id, session`,
    );
    expect(marks).toEqual([
      { pupil_mis_id: '7', session: 'AM', code: 'N', category: 'unauthorised_absence' },
      { pupil_mis_id: '7', session: 'PM', code: 'N', category: 'unauthorised_absence' },
      // Pupil 8's AM mark is `I` that this school's Arbor counts as unauthorised: not stored, reported.
      { pupil_mis_id: '8', session: 'PM', code: 'I', category: 'authorised_absence' },
    ]);
    const rejected = report.applied.flatMap((s) => s.rejected);
    expect(rejected).toEqual([
      {
        where: 'arbor attendance-records changelog from revision 0, record 3',
        pupil: '8',
        reason: expect.stringContaining(
          "mark I: the MIS counts it as unauthorised absence but the DfE code table (with the school's code map) says authorised absence",
        ),
      },
    ]);
    // What the data manager sees is stored with the import.
    const { rows: imports } = await db.query<{ rejected: unknown[] }>(
      `SELECT rejected FROM imports WHERE school_id = 'alpha' AND unit LIKE 'arbor attendance-records%'`,
    );
    expect(imports[0]!.rejected).toHaveLength(1);

    // The same sync again changes nothing: the cursor is past every change.
    f.install();
    expect((await sync()).applied).toEqual([]);
  });

  it("raises Heath Lane's vulnerable-absent trigger for the pupil whose CP plan came from Arbor", async () => {
    const { rules } = rulesForSchool(school, loadPolicyPacks('config/policies'));
    const found = await findingsFor(db, school, rules, ['7', '8'], '2025-01-13');
    const fired = (id: string) =>
      found
        .get(id)!
        .findings.filter((f) => f.fired)
        .map((f) => f.ruleKey);
    expect(fired('7')).toContain('heath-lane:vulnerable-absent');
    // Pupil 8 is absent too (illness in the afternoon) but has no flag: no vulnerable-absent finding.
    expect(fired('8')).not.toContain('heath-lane:vulnerable-absent');
  });

  it('counts a welfare concern set by hand like an MIS flag, and a later sync leaves it alone', async () => {
    await setManualFlag(db, 'alpha', '8', 'welfareConcern', {
      reason: 'r',
      by: 'user:1',
      at: NOW.toISOString(),
    });
    const f = new FakeArbor(BASE, AUTH);
    f.addPupil({ id: 7, first: 'A', last: 'B', dob: '2014-03-02' });
    f.addPupil({ id: 8, upn: 'B123456789012', first: 'Ben', last: 'Hart', dob: '2014-05-06' }, 'UPDATE');
    f.install();
    // The fake's revisions restart at 1, so the sync finds nothing newer than the stored cursor;
    // the flag must survive a sync of the pupil, so read the students changelog from the start.
    await db.query(`DELETE FROM sync_cursors WHERE school_id = 'alpha'`);
    await sync();
    const { rows } = await db.query<{ manual_flags: Record<string, unknown> }>(
      `SELECT manual_flags FROM pupils WHERE school_id = 'alpha' AND mis_id = '8'`,
    );
    expect(rows[0]!.manual_flags.welfareConcern).toMatchObject({ reason: 'r' });
    const { rules } = rulesForSchool(school, loadPolicyPacks('config/policies'));
    const found = await findingsFor(db, school, rules, ['8'], '2025-01-13');
    expect(
      found
        .get('8')!
        .findings.filter((x) => x.fired)
        .map((x) => x.ruleKey),
    ).toContain('heath-lane:vulnerable-absent');
  });

  it("names a leaver the school never had at the deleted student's own record, not a live student's", async () => {
    const f = new FakeArbor(BASE, AUTH);
    f.addPupil({ id: 20, first: 'E', last: 'F', dob: '2014-03-02' });
    // Deleted in Arbor before Doorstep ever read it: a leaver the school never had.
    f.removePupil(21);
    f.install();
    // The fake's revisions restart at 1: read the students changelog from the start.
    await db.query(`DELETE FROM sync_cursors WHERE school_id = 'alpha'`);
    const report = await sync();
    expect(report.refused).toEqual([]);
    const label = 'arbor students changelog from revision 0';
    // Pupil 20 is record 1 of the unit; the deletion is record 2.
    expect(report.applied.flatMap((s) => s.rejected)).toEqual([
      {
        where: `${label}, record 2`,
        pupil: '21',
        reason: "leaver 21: not in the school's pupil list (nothing to mark off-roll)",
      },
    ]);
  });
});
