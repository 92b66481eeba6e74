import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUnit } from '../../connectors/mis/file-unit.ts';
import { loadPolicyPacks, rulesForSchool } from '../../src/config/policy-packs.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { listEpisodes } from '../../src/store/triggers.ts';
import { evaluateSchoolTriggers } from '../../src/triggers/evaluate-school.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * A pupil whose flags an import changes (a CP plan begun or ended in the MIS) is handed to trigger
 * evaluation with the pupils whose marks changed: Lime Hills' week unanswered with a safeguarding
 * concern is raised at the sync that brings the CP plan, not at the nightly run.
 */
const schema = uniqueName('flag_change');
const dir = mkdtempSync(join(tmpdir(), 'doorstep-flag-change-'));
const TODAY = '2025-11-21'; // Friday
const RULE = 'lime-hills:absent-week-no-response-concern';
let db: Db;
const config = configWith({
  mis: `{ kind: csv, dropFolder: "${dir}" }`,
  school: `    calendar:
      terms: [{ start: "2025-09-03", end: "2025-10-24" }, { start: "2025-11-03", end: "2025-12-19" }]
`,
});
const school = { ...config.schools[0]!, policies: ['statutory', 'lime-hills'] };
const { rules } = rulesForSchool(school, loadPolicyPacks('config/policies'));

function importCsv(name: string, content: string) {
  const path = join(dir, name);
  writeFileSync(path, content);
  return applyImportUnit(
    db,
    fileUnit(path, 'csv', school),
    importContextFor(school, new Date(`${TODAY}T12:00:00Z`), { actor: 'test', source: 'csv' }),
  );
}

/** The evaluation an import's sync hands its changed pupils to. */
const evaluate = (pupilIds: string[]) =>
  evaluateSchoolTriggers(db, school, rules, {
    today: TODAY,
    pupilIds,
    actor: 'test',
    now: new Date(`${TODAY}T12:05:00Z`),
  });

const limeHills = async () =>
  (await listEpisodes(db, 'alpha')).filter((e) => e.ruleKey === RULE).map((e) => [e.pupilMisId, e.status]);

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
  rmSync(dir, { recursive: true, force: true });
});

describe('flags changed by an import', () => {
  it('hand the pupil to trigger evaluation though no mark changed: set, the visit is raised; cleared, it closes', async () => {
    const header = 'ID,Legal Forename,Legal Surname,CP Plan\n';
    await importCsv('pupils-1.csv', `${header}1001,Amelia,Okafor,\n1002,Ben,Hart,\n`);
    // N Monday 17 to Friday 21 November: a week, no response — but no concern yet.
    const days = ['17', '18', '19', '20', '21'];
    const marks = await importCsv(
      'marks-1.csv',
      `PersonID,AttendanceDate,AM,PM\n${days.map((d) => `1001,${d}/11/2025,N,N\n`).join('')}`,
    );
    expect(marks.changedPupils).toEqual(['1001']);
    await evaluate(marks.changedPupils);
    expect(await limeHills()).toEqual([]);

    // The MIS records a CP plan: the next export carries it, with no new mark.
    const cp = await importCsv('pupils-2.csv', `${header}1001,Amelia,Okafor,Yes\n1002,Ben,Hart,\n`);
    expect(cp.changedPupils).toEqual(['1001']);
    expect(await evaluate(cp.changedPupils)).toMatchObject({ raised: 1 });
    expect(await limeHills()).toEqual([['1001', 'open']]);

    // The same export again changes no flag: nobody handed over.
    expect(
      (await importCsv('pupils-3.csv', `${header}1001,Amelia,Okafor,Yes\n1002,Ben,Hart,\n`)).changedPupils,
    ).toEqual([]);
    // A name changed is no flag changed either.
    expect(
      (await importCsv('pupils-4.csv', `${header}1001,Amelia,Okafor,Yes\n1002,Benjamin,Hart,\n`))
        .changedPupils,
    ).toEqual([]);

    // The plan ended (the cell blank): handed over again, and the visit closes.
    const ended = await importCsv('pupils-5.csv', `${header}1001,Amelia,Okafor,\n1002,Benjamin,Hart,\n`);
    expect(ended.changedPupils).toEqual(['1001']);
    expect(await evaluate(ended.changedPupils)).toMatchObject({ closed: 1 });
    expect(await limeHills()).toEqual([['1001', 'closed']]);
  });
});
