import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUnit } from '../../connectors/mis/file-unit.ts';
import { exampleDataCommand } from '../../src/cli/example-data-command.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { schoolRules } from '../../src/config/policy-packs.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { evaluateSchoolTriggers } from '../../src/triggers/evaluate-school.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * `npm start`'s example data: written once into each example school's drop folder in that school's
 * own shape (Heath Lane's SIMS exports; Hampton's CSVs with its column map, in Windows-1252), it
 * imports cleanly (no row rejected, no mark on a closed day) and raises triggers a newcomer can see
 * at each school. The clock is a parameter: a day in the example calendar's autumn term.
 */
const schema = uniqueName('example');
const NOW = new Date('2026-11-30T07:00:00Z');
let db: Db;
let dir: string;
let configFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'doorstep-example-'));
  const example = readFileSync('config/doorstep.example.yaml', 'utf8').replaceAll('./data/', `${dir}/data/`);
  configFile = join(dir, 'doorstep.yaml');
  writeFileSync(configFile, example);
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

/** Imports `files` from `drop` as the school's sync would, each without a rejected row or a mark on a closed day. */
async function importsCleanly(schoolId: string, drop: string, files: string[]) {
  const config = loadConfigFile(configFile);
  const school = config.schools.find((s) => s.id === schoolId)!;
  const format = school.mis.kind as 'sims-xml' | 'csv';
  for (const f of files) {
    const s = await applyImportUnit(
      db,
      fileUnit(join(drop, f), format, school),
      importContextFor(school, NOW, { actor: 'test', source: format }),
    );
    expect(s.rejectedRows, f).toBe(0);
    expect(s.calendarProblems.count, f).toBe(0);
  }
  await evaluateSchoolTriggers(db, school, schoolRules(config, school), {
    today: '2026-11-30',
    now: NOW,
    pupilIds: 'all',
    actor: 'test',
  });
  const { rows } = await db.query<{ pupil_mis_id: string; rule_key: string }>(
    `SELECT pupil_mis_id, rule_key FROM trigger_episodes WHERE school_id = $1 AND status = 'open' ORDER BY 1, 2`,
    [schoolId],
  );
  return (id: string) => rows.filter((r) => r.pupil_mis_id === id).map((r) => r.rule_key);
}

describe('the example data npm start writes', () => {
  it('is written once per school, in each school’s own shape', async () => {
    const lines: string[] = [];
    expect(await exampleDataCommand({ config: configFile }, (l) => lines.push(l), NOW)).toBe(0);
    expect(lines).toEqual([
      expect.stringMatching(
        /^example data: 8 made-up pupils and \d+ school day\(s\) of marks for heath-lane /,
      ),
      expect.stringMatching(
        /^example data: 6 made-up pupils and \d+ school day\(s\) of marks for hampton-infant /,
      ),
    ]);
    expect(readdirSync(join(dir, 'data/drop/heath-lane')).sort()).toEqual([
      'example-marks.xml',
      'example-pupils.xml',
    ]);
    expect(readdirSync(join(dir, 'data/drop/hampton-infant')).sort()).toEqual([
      'example-marks.csv',
      'example-pupils.csv',
    ]);
    // Once: a second run writes nothing.
    expect(await exampleDataCommand({ config: configFile }, (l) => lines.push(l), NOW)).toBe(0);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/already written for heath-lane/),
      expect.stringMatching(/already written for hampton-infant/),
    ]);
    expect(existsSync(join(dir, 'data/drop/.example-data-heath-lane'))).toBe(true);
    expect(existsSync(join(dir, 'data/drop/.example-data-hampton-infant'))).toBe(true);
    // Hampton's CSVs are captioned by its column map and written as its Excel exports are.
    const pupils = readFileSync(join(dir, 'data/drop/hampton-infant/example-pupils.csv'));
    expect(pupils.toString('latin1').split('\r\n')[0]).toMatch(/^Admission No,UPN,.*,Reg Group,/);
    expect(pupils.includes(Buffer.from('Zo\xeb', 'latin1'))).toBe(true);
    expect(readFileSync(join(dir, 'data/drop/hampton-infant/example-marks.csv'), 'latin1')).toMatch(
      /^Admission No,Date,AM,PM\r\n2101,\d\d\/09\/2026,/,
    );
  });

  it('Heath Lane’s imports without a rejected row, and raises the triggers it was made for', async () => {
    const by = await importsCleanly('heath-lane', join(dir, 'data/drop/heath-lane'), [
      'example-pupils.xml',
      'example-marks.xml',
    ]);
    expect(by('9001')).toEqual(expect.arrayContaining([expect.stringMatching(/vulnerable-absent$/)]));
    expect(by('9002')).toEqual(expect.arrayContaining([expect.stringMatching(/absent-3-days$/)]));
    expect(by('9003')).toEqual(expect.arrayContaining([expect.stringMatching(/persistent-absence$/)]));
    expect(by('9004')).toEqual(expect.arrayContaining([expect.stringMatching(/n-unresolved$/)]));
    expect(by('9005')).toEqual([]);
  });

  it('Hampton’s imports through its column map without a rejected row, names intact, with triggers to ask a visit from', async () => {
    const by = await importsCleanly('hampton-infant', join(dir, 'data/drop/hampton-infant'), [
      'example-pupils.csv',
      'example-marks.csv',
    ]);
    const { rows } = await db.query<{ mis_id: string; forename: string; year_group: string; cp: boolean }>(
      `SELECT mis_id, forename, year_group, (flags->>'cpPlan')::boolean AS cp FROM pupils
       WHERE school_id = 'hampton-infant' ORDER BY mis_id`,
    );
    expect(rows).toHaveLength(6);
    expect(rows[0]).toEqual({ mis_id: '2101', forename: 'Zoë', year_group: 'Year 2', cp: true });
    expect(by('2101')).toEqual(expect.arrayContaining([expect.stringMatching(/persistent-absence$/)]));
    expect(by('2102')).toEqual(
      expect.arrayContaining([expect.stringMatching(/continuous-unauthorised-10$/)]),
    );
    expect(by('2103')).toEqual(expect.arrayContaining([expect.stringMatching(/n-unresolved$/)]));
    expect(by('2104')).toEqual([]);
  });
});
