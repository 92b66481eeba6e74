import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUnit } from '../../connectors/mis/file-unit.ts';
import type { ImportUnit, MisBatch } from '../../connectors/mis/types.ts';
import { loadPolicyPacks, rulesForSchool, visitRulesFor } from '../../src/config/policy-packs.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { listEpisodes } from '../../src/store/triggers.ts';
import { evaluateSchoolTriggers } from '../../src/triggers/evaluate-school.ts';
import { exemptionsFor } from '../../src/visits/family-notice.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * King's Gomer 2.1: families are told in advance "except … children missing in education who
 * require 'on-the-spot monitoring'". A pupil who attended and was then taken off roll by the MIS with
 * no destination known — the DfE's child missing education — has no absence marks, so opens neither
 * statutory trigger the exemption used to rest on alone: the exemption now also rests on the roll
 * (`offRollUnknownDestination`), and a leaver to a known school, or a pupil on roll, does not get it
 * that way. Nor does a leaver the MIS gives no destination for at all (Arbor's, Wonde's, an export
 * without the column or with the cell empty, one too long to keep): only the MIS saying the
 * destination is unknown makes a child missing education by the roll.
 */
const schema = uniqueName('notice_off_roll');
const dir = mkdtempSync(join(tmpdir(), 'doorstep-notice-off-roll-'));
let db: Db;
const config = configWith({
  school: `    calendar:
      terms: [{ start: "2025-09-03", end: "2025-10-24" }, { start: "2025-11-03", end: "2025-12-19" }]
`,
});
const packs = loadPolicyPacks('config/policies');
const kings = { ...config.schools[0]!, policies: ['statutory', 'kings-gomer'] };
const rules = visitRulesFor(kings, packs);
const at = (day: string) => new Date(`${day}T10:00:00Z`);

async function importCsv(name: string, content: string, today: string) {
  const path = join(dir, name);
  writeFileSync(path, content);
  return applyImportUnit(
    db,
    fileUnit(path, 'csv', kings),
    importContextFor(kings, new Date(`${today}T12:00:00Z`), { actor: 'test', source: 'csv' }),
  );
}

const missingEducation = async (pupilMisId: string, day: string) =>
  (await exemptionsFor(db, rules, { schoolId: kings.id, pupilMisId }, at(day))).find(
    (x) => x.id === 'missing-education',
  )!;

const header = 'ID,UPN,Legal Forename,Legal Surname,DOB,Date of Leaving,Destination\n';
const onRoll = [
  '1001,A123456789012,Ada,Lovelace,2014-01-02,,',
  '1002,B123456789012,Ben,Hart,2014-03-04,,',
  '1003,C123456789012,Cara,Doyle,2014-05-06,,',
  '1004,D123456789012,Dev,Patel,2014-07-08,,',
];

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  await importCsv('pupils-1.csv', `${header}${onRoll.join('\n')}\n`, '2025-11-03');
  // Every one of them in school every session of the first fortnight of the term.
  const days = ['03', '04', '05', '06', '07', '10', '11', '12', '13'];
  const marks = ['1001', '1002', '1003', '1004'].flatMap((id) => days.map((d) => `${id},2025-11-${d},/,\\`));
  const attended = await importCsv(
    'marks-1.csv',
    `PersonID,AttendanceDate,AM,PM\n${marks.join('\n')}\n`,
    '2025-11-13',
  );
  expect(attended.marks.inserted).toBe(4 * days.length * 2);
  // Then the MIS takes two off roll: 1001 gone with the destination recorded as unknown, 1002 to a
  // named school; 1004 is to leave at the end of the month, nobody yet knows where.
  await importCsv(
    'pupils-2.csv',
    `${header}${[
      '1001,A123456789012,Ada,Lovelace,2014-01-02,14/11/2025,Unknown',
      '1002,B123456789012,Ben,Hart,2014-03-04,14/11/2025,Riverside Academy',
      onRoll[2],
      '1004,D123456789012,Dev,Patel,2014-07-08,28/11/2025,Not known',
    ].join('\n')}\n`,
    '2025-11-17',
  );
  await evaluateSchoolTriggers(db, kings, rulesForSchool(kings, packs).rules, {
    today: '2025-11-20',
    pupilIds: 'all',
    actor: 'test',
    now: new Date('2025-11-20T18:00:00Z'),
  });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

describe("King's missing-education exemption from advance notice, for a pupil off roll", () => {
  it('the leavers are stored as the MIS gave them, and no statutory trigger is open for any pupil', async () => {
    const { rows } = await db.query(
      `SELECT mis_id, to_char(left_on, 'YYYY-MM-DD') AS left_on, left_to, left_to_unknown AS unknown
       FROM pupils WHERE mis_id LIKE '10%' ORDER BY mis_id`,
    );
    // "Unknown" is the MIS saying nobody knows: no destination, and said so.
    expect(rows).toEqual([
      { mis_id: '1001', left_on: '2025-11-14', left_to: null, unknown: true },
      { mis_id: '1002', left_on: '2025-11-14', left_to: 'Riverside Academy', unknown: false },
      { mis_id: '1003', left_on: null, left_to: null, unknown: false },
      { mis_id: '1004', left_on: '2025-11-28', left_to: null, unknown: true },
    ]);
    expect(await listEpisodes(db, kings.id, { status: 'open' })).toEqual([]);
  });

  it('applies to a pupil taken off roll with no known destination, saying so', async () => {
    expect(await missingEducation('1001', '2025-11-20')).toEqual({
      id: 'missing-education',
      applies: true,
      why: 'off roll since 2025-11-14 with no known destination (a child missing education)',
    });
    // Persistent absence stays the attendance's: nothing about leaving the roll makes it apply.
    const all = await exemptionsFor(db, rules, { schoolId: kings.id, pupilMisId: '1001' }, at('2025-11-20'));
    expect(all.find((x) => x.id === 'persistent-absence')!.applies).toBe(false);
  });

  it('does not apply through the roll to a pupil who left for a known destination', async () => {
    expect(await missingEducation('1002', '2025-11-20')).toEqual({
      id: 'missing-education',
      applies: false,
      why: 'the pupil has no open trigger for it (statutory:continuous-unauthorised-10 or statutory:removal-from-roll-review-20), and left the roll on 2025-11-14 for a known destination',
    });
  });

  it('does not apply to a pupil on roll, nor to one whose leaving date is still to come', async () => {
    const onRollNow = await missingEducation('1003', '2025-11-20');
    expect(onRollNow.applies).toBe(false);
    expect(onRollNow.why).toContain('and is on roll');
    const leavingLater = await missingEducation('1004', '2025-11-20');
    expect(leavingLater.applies).toBe(false);
    expect(leavingLater.why).toContain('is on roll until 2025-11-28');
    // Once that day has come with still no destination, it applies.
    expect((await missingEducation('1004', '2025-11-28')).applies).toBe(true);
  });

  it('still applies through an open trigger, whatever the roll says', async () => {
    await db.query(
      `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
       VALUES ($1, '1003', 'statutory:continuous-unauthorised-10', '10 school days unauthorised absence',
               'la-notification', 'attendance-officer', 'open', '2025-11-20', 'test', '{}'::jsonb)`,
      [kings.id],
    );
    try {
      expect(await missingEducation('1003', '2025-11-20')).toEqual({
        id: 'missing-education',
        applies: true,
        why: 'open trigger: 10 school days unauthorised absence',
      });
    } finally {
      await db.query(`DELETE FROM trigger_episodes WHERE pupil_mis_id = '1003'`);
    }
  });
});

/** A unit as an API connector gives one (its label and source named), of these batches. */
const apiUnit = (label: string, batches: MisBatch[]) =>
  ({
    label,
    batches: async function* () {
      yield* batches;
    },
  }) as ImportUnit;

async function applyApi(unit: ImportUnit, source: string, today: string) {
  return applyImportUnit(
    db,
    unit,
    importContextFor(kings, new Date(`${today}T12:00:00Z`), { actor: 'test', source }),
  );
}

const NOT_GIVEN =
  'left the roll on 2025-11-14 with no destination from the MIS to judge by (the roll gives this exemption only where the MIS records the destination as unknown)';

describe('a leaver the MIS gives no destination for at all is no child missing education by the roll', () => {
  beforeAll(async () => {
    // No Destination column (the default column map's Destination is optional): 2002 leaves.
    await importCsv(
      'pupils-3.csv',
      'ID,UPN,Legal Forename,Legal Surname,DOB,Date of Leaving\n' +
        '2001,E123456789012,Eve,Stone,2014-01-02,\n' +
        '2002,F123456789012,Finn,Moss,2014-01-02,14/11/2025\n',
      '2025-11-17',
    );
    // A leaver as Arbor's connector gives one (a student deleted from Arbor) and as Wonde's does
    // (students-leaver, deletions): a LeaverRecord with no destination at all — neither reads one.
    await applyApi(
      apiUnit('arbor students changelog', [
        {
          kind: 'leavers',
          leavers: [
            { misId: '2001', leftOn: '2025-11-17', undated: true, where: { unit: 'arbor', record: 1 } },
          ],
        },
      ]),
      'arbor',
      '2025-11-17',
    );
  });

  it('an Arbor/Wonde leaver (the connector reads no destination) is not exempt, and not called missing', async () => {
    const { rows } = await db.query(
      `SELECT mis_id, left_on IS NOT NULL AS off, left_to, left_to_unknown AS unknown
       FROM pupils WHERE mis_id IN ('2001', '2002') ORDER BY mis_id`,
    );
    expect(rows).toEqual([
      { mis_id: '2001', off: true, left_to: null, unknown: false },
      { mis_id: '2002', off: true, left_to: null, unknown: false },
    ]);
    const arbor = await missingEducation('2001', '2025-11-20');
    expect(arbor.applies).toBe(false);
    expect(arbor.why).toContain(
      'left the roll on 2025-11-17 with no destination from the MIS to judge by (the roll gives this exemption only where the MIS records the destination as unknown)',
    );
    expect(arbor.why).not.toContain('missing education');
  });

  it('an Arbor student deleted, then live again in the changelog, still gets no exemption', async () => {
    // What connectors/mis/arbor/source.ts gives for a live student: no onRoll (Arbor keeps former
    // students as live records, so a live one says nothing of the roll), no leaving.
    const r = await applyApi(
      apiUnit('arbor students changelog 2', [
        { kind: 'pupils', pupils: [{ misId: '2001', flags: {}, where: { unit: 'arbor', record: 1 } }] },
      ]),
      'arbor',
      '2025-11-18',
    );
    expect(r.pupils).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
    expect((await missingEducation('2001', '2025-11-20')).applies).toBe(false);
  });

  it('a leaver from an export with no Destination column is not exempt', async () => {
    expect(await missingEducation('2002', '2025-11-20')).toEqual({
      id: 'missing-education',
      applies: false,
      why: `the pupil has no open trigger for it (statutory:continuous-unauthorised-10 or statutory:removal-from-roll-review-20), and ${NOT_GIVEN}`,
    });
  });

  it('nor one whose Destination cell is empty (not recorded), nor one too long to keep', async () => {
    const r = await importCsv(
      'pupils-4.csv',
      `${header}2003,G123456789012,Gil,Oak,2014-01-02,14/11/2025,\n2004,H123456789012,Hal,Ash,2014-01-02,14/11/2025,${'Riverside Academy '.repeat(12)}\n`,
      '2025-11-17',
    );
    // The long one is said, and the pupil still taken off roll.
    expect(r.rejected.map((x) => x.reason)).toEqual([
      expect.stringContaining('field destination: expected at most 200 characters'),
    ]);
    for (const id of ['2003', '2004']) {
      const standing = await missingEducation(id, '2025-11-20');
      expect(standing.applies).toBe(false);
      expect(standing.why).toContain(NOT_GIVEN);
    }
  });

  it('an unknown destination said in other words is one; a destination named since, or too long, ends it', async () => {
    await importCsv(
      'pupils-5.csv',
      `${header}${[
        '2005,J123456789012,Jo,Elm,2014-01-02,14/11/2025,CME',
        '2006,K123456789012,Kit,Yew,2014-01-02,14/11/2025,MMM/MMMM',
        '2007,L123456789012,Lu,Fir,2014-01-02,14/11/2025, destination  unknown. ',
      ].join('\n')}\n`,
      '2025-11-17',
    );
    for (const id of ['2005', '2006', '2007'])
      expect((await missingEducation(id, '2025-11-20')).applies).toBe(true);
    // The MIS then names where 2005 went, and gives 2006 a destination too long to keep: neither is
    // unknown now. 2007's is taken back to an empty cell: the same leaving, nothing new said — kept.
    await importCsv(
      'pupils-6.csv',
      `${header}${[
        '2005,J123456789012,Jo,Elm,2014-01-02,14/11/2025,Riverside Academy',
        `2006,K123456789012,Kit,Yew,2014-01-02,14/11/2025,${'x'.repeat(201)}`,
        '2007,L123456789012,Lu,Fir,2014-01-02,14/11/2025,',
      ].join('\n')}\n`,
      '2025-11-18',
    );
    expect((await missingEducation('2005', '2025-11-20')).why).toContain('for a known destination');
    expect((await missingEducation('2006', '2025-11-20')).applies).toBe(false);
    expect((await missingEducation('2007', '2025-11-20')).applies).toBe(true);
    // Unknown again for 2005: the MIS's word replaces the destination it named.
    await importCsv(
      'pupils-7.csv',
      `${header}2005,J123456789012,Jo,Elm,2014-01-02,14/11/2025,Unknown\n`,
      '2025-11-19',
    );
    expect((await missingEducation('2005', '2025-11-20')).applies).toBe(true);
  });

  it('back on roll, the unknown destination goes with the leaving: a later leaving with none given is not exempt', async () => {
    await importCsv('pupils-8.csv', `${header}2007,L123456789012,Lu,Fir,2014-01-02,,\n`, '2025-11-19');
    expect((await missingEducation('2007', '2025-11-20')).why).toContain('is on roll');
    await applyApi(
      apiUnit('wonde students-leaver', [
        {
          kind: 'leavers',
          leavers: [
            {
              misId: '2007',
              leftOn: '2025-11-20',
              fromFullList: true,
              undated: true,
              where: { unit: 'wonde', record: 1 },
            },
          ],
        },
      ]),
      'wonde',
      '2025-11-20',
    );
    expect(await db.query(`SELECT left_to_unknown FROM pupils WHERE mis_id = '2007'`)).toMatchObject({
      rows: [{ left_to_unknown: false }],
    });
    expect((await missingEducation('2007', '2025-11-21')).applies).toBe(false);
  });
});

describe('the pack field is validated', () => {
  const kingsYaml = readFileSync('config/policies/kings-gomer.yaml', 'utf8');
  const withExemption = (lines: string) => {
    const packDir = mkdtempSync(join(tmpdir(), 'doorstep-notice-off-roll-packs-'));
    const from = kingsYaml.indexOf('      - id: missing-education');
    const to = kingsYaml.indexOf('\n    source:', from) + 1;
    writeFileSync(join(packDir, 'kings-gomer.yaml'), kingsYaml.slice(0, from) + lines + kingsYaml.slice(to));
    return () => loadPolicyPacks(packDir);
  };
  const problems = (load: () => unknown) => {
    try {
      load();
    } catch (e) {
      return (e as { details: string[] }).details;
    }
    throw new Error('expected the pack to be refused');
  };

  it('King’s pack as shipped rests missing education on the triggers and on the roll', () => {
    expect(
      rules.familyNotice!.exemptions.map((x) => [x.id, x.openTriggers, x.offRollUnknownDestination]),
    ).toEqual([
      ['persistent-absence', ['statutory:persistent-absence', 'statutory:severe-absence'], false],
      [
        'missing-education',
        ['statutory:continuous-unauthorised-10', 'statutory:removal-from-roll-review-20'],
        true,
      ],
    ]);
  });

  it('an exemption may rest on the roll alone', () => {
    const packs = withExemption('      - id: missing-education\n        offRollUnknownDestination: true\n')();
    expect(
      visitRulesFor(kings, packs).familyNotice!.exemptions.find((x) => x.id === 'missing-education'),
    ).toEqual({ id: 'missing-education', openTriggers: [], offRollUnknownDestination: true });
  });

  it('refuses an unknown key, and an object resting on nothing', () => {
    expect(
      problems(
        withExemption(
          '      - id: missing-education\n        openTriggers: [statutory:continuous-unauthorised-10]\n        offRollNoDestination: true\n',
        ),
      ),
    ).toEqual([
      expect.stringContaining(
        'exemptions[1].offRollNoDestination (line 89): unknown key "offRollNoDestination"',
      ),
    ]);
    for (const nothing of ['', '        offRollUnknownDestination: false\n'])
      expect(problems(withExemption(`      - id: missing-education\n${nothing}`))).toEqual([
        expect.stringContaining('expected openTriggers, offRollUnknownDestination: true, or both'),
      ]);
  });
});
