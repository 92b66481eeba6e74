import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportUnit } from '../../connectors/mis/types.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * Wonde's `students-leaver` lists every leaver the MIS has (years of them): the school's own pupils
 * in it are marked off roll; the rest — pupils who left before Doorstep came — are passed over
 * quietly, not reported as rejected rows at every sync.
 */
const schema = uniqueName('leaverslist');
let db: Db;
const school = configWith().schools[0]!;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  await db.query(`INSERT INTO pupils (school_id, mis_id) VALUES ($1, '1001'), ($1, '1002')`, [school.id]);
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

describe('leavers from a full list of the MIS’s leavers', () => {
  it("marks the school's own off roll and passes over the rest without a rejection", async () => {
    const unit = (fromFullList: boolean): ImportUnit => ({
      label: 'wonde students-leaver',
      batches: async function* () {
        yield {
          kind: 'leavers',
          leavers: ['1001', '9001', '9002'].map((misId, i) => ({
            misId,
            leftOn: '2025-01-14',
            ...(fromFullList ? { fromFullList: true } : {}),
            where: { unit: 'wonde students-leaver', record: i + 1 },
          })),
        };
      },
    });
    const s = await applyImportUnit(
      db,
      unit(true),
      importContextFor(school, new Date('2025-01-14T12:00:00Z'), { actor: 't', source: 'wonde' }),
    );
    expect(s.rejected).toEqual([]);
    const { rows } = await db.query(
      `SELECT mis_id, to_char(left_on, 'YYYY-MM-DD') AS left_on FROM pupils ORDER BY 1`,
    );
    expect(rows).toEqual([
      { mis_id: '1001', left_on: '2025-01-14' },
      { mis_id: '1002', left_on: null },
    ]);
    // A leaver named one by one (a deletion) that the school never had is still reported.
    const named = await applyImportUnit(
      db,
      unit(false),
      importContextFor(school, new Date('2025-01-14T12:00:00Z'), { actor: 't', source: 'wonde' }),
    );
    expect(named.rejected.map((r) => r.reason)).toEqual([
      "leaver 9001: not in the school's pupil list (nothing to mark off-roll)",
      "leaver 9002: not in the school's pupil list (nothing to mark off-roll)",
    ]);
  });
});
