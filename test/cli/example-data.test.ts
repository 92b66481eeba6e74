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
 * `npm start`'s example data: written once into the example school's drop folder, it imports cleanly
 * (no row rejected, no mark on a closed day) and raises triggers a newcomer can see. The clock is a
 * parameter: a day in the example calendar's autumn term.
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

describe('the example data npm start writes', () => {
  it('is written once, imports without a rejected row, and raises the triggers it was made for', async () => {
    const lines: string[] = [];
    expect(await exampleDataCommand({ config: configFile }, (l) => lines.push(l), NOW)).toBe(0);
    expect(lines[0]).toMatch(
      /^example data: 8 made-up pupils and \d+ school day\(s\) of marks for heath-lane/,
    );
    const drop = join(dir, 'data/drop/heath-lane');
    expect(readdirSync(drop).sort()).toEqual(['example-marks.xml', 'example-pupils.xml']);
    // Once: a second run writes nothing.
    expect(await exampleDataCommand({ config: configFile }, (l) => lines.push(l), NOW)).toBe(0);
    expect(lines[1]).toMatch(/already written/);
    expect(existsSync(join(dir, 'data/drop/.example-data-heath-lane'))).toBe(true);

    const config = loadConfigFile(configFile);
    const school = config.schools.find((s) => s.id === 'heath-lane')!;
    for (const f of ['example-pupils.xml', 'example-marks.xml']) {
      const s = await applyImportUnit(
        db,
        fileUnit(join(drop, f), 'sims-xml', school),
        importContextFor(school, NOW, { actor: 'test', source: 'sims-xml' }),
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
      `SELECT pupil_mis_id, rule_key FROM trigger_episodes WHERE school_id = 'heath-lane' AND status = 'open' ORDER BY 1, 2`,
    );
    const by = (id: string) => rows.filter((r) => r.pupil_mis_id === id).map((r) => r.rule_key);
    expect(by('9001')).toEqual(expect.arrayContaining([expect.stringMatching(/vulnerable-absent$/)]));
    expect(by('9002')).toEqual(expect.arrayContaining([expect.stringMatching(/absent-3-days$/)]));
    expect(by('9003')).toEqual(expect.arrayContaining([expect.stringMatching(/persistent-absence$/)]));
    expect(by('9004')).toEqual(expect.arrayContaining([expect.stringMatching(/n-unresolved$/)]));
    expect(by('9005')).toEqual([]);
  });
});
