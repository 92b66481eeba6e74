import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportUnit } from '../../connectors/mis/types.ts';
import { applyImportUnit } from '../../src/import/apply-unit.ts';
import { importContextFor } from '../../src/import/context.ts';
import type { Db } from '../../src/store/db.ts';
import { openStore } from '../../src/store/open.ts';
import { configWith } from '../helpers/config.ts';
import { dropSchema, TEST_DATABASE_URL, uniqueName } from '../helpers/services.ts';

/**
 * A leaving date from the MIS is judged as `doorstep subject left` judges a typed one: a date before
 * the pupil's own last mark, or so far back that tonight's purge would erase them (a Date of Leaving
 * of 2016 for 2026), is held — the pupil left on roll — and reported for the data manager; the MIS's
 * later correction is taken, even over a doubtful date stored before.
 */
const schema = uniqueName('leaverdoubts');
const NOW = new Date('2026-03-15T12:00:00Z');
let db: Db;
const school = configWith().schools[0]!;

beforeAll(async () => {
  db = await openStore({ databaseUrl: TEST_DATABASE_URL, dataDir: 'unused', schema });
  await db.query(`INSERT INTO pupils (school_id, mis_id) VALUES ($1, '1001'), ($1, '1002'), ($1, '1003')`, [
    school.id,
  ]);
  // In school on 2 March (present); 1004 only absent since 20 February, when it last attended.
  await db.query(`INSERT INTO pupils (school_id, mis_id) VALUES ($1, '1004')`, [school.id]);
  for (const [id, date, code, category] of [
    ['1001', '2026-03-02', '/', 'present'],
    ['1002', '2026-03-02', '/', 'present'],
    ['1003', '2026-03-02', '/', 'present'],
    ['1004', '2026-02-20', '/', 'present'],
    ['1004', '2026-03-02', 'N', 'unauthorised_absence'],
  ])
    await db.query(
      `INSERT INTO attendance_marks (school_id, pupil_mis_id, date, session, code, category, import_id)
       VALUES ($1, $2, $3, 'AM', $4, $5, 1)`,
      [school.id, id, date, code, category],
    );
  // Stored before MIS dates were judged: 1003 left (says the record) before their own last mark.
  await db.query(`UPDATE pupils SET left_on = '2026-01-05' WHERE mis_id = '1003'`);
});
afterAll(async () => {
  await db.close();
  await dropSchema(schema);
});

const leaving = (dates: Record<string, string>): ImportUnit => ({
  label: 'pupils.csv',
  batches: async function* () {
    yield {
      kind: 'leavers',
      leavers: Object.entries(dates).map(([misId, leftOn], i) => ({
        misId,
        leftOn,
        where: { unit: 'pupils.csv', line: i + 2 },
      })),
    };
  },
});
const run = (dates: Record<string, string>) =>
  applyImportUnit(db, leaving(dates), importContextFor(school, NOW, { actor: 't', source: 'csv' }));
const leftOn = async () =>
  Object.fromEntries(
    (
      await db.query<{ mis_id: string; left_on: string | null }>(
        `SELECT mis_id, to_char(left_on, 'YYYY-MM-DD') AS left_on FROM pupils ORDER BY 1`,
      )
    ).rows.map((r) => [r.mis_id, r.left_on]),
  );

describe('a leaving date from the MIS the CLI would doubt', () => {
  it('is held, the pupil kept on roll, and reported; the MIS’s correction is taken', async () => {
    const s = await run({ '1001': '2016-03-02', '1002': '2026-02-27' });
    expect(await leftOn()).toMatchObject({ '1001': null, '1002': null });
    expect(s.rejected).toEqual([
      expect.objectContaining({
        pupil: '1001',
        reason: expect.stringMatching(
          /^leaver pupil 1001: leaving date 2016-03-02 held, not marked off roll: they attended on 2026-03-02, after that date; .*tonight's purge erases the pupil/,
        ),
      }),
      expect.objectContaining({
        pupil: '1002',
        reason: expect.stringMatching(
          /^leaver pupil 1002: leaving date 2026-02-27 held.*they attended on 2026-03-02/,
        ),
      }),
    ]);
    expect(s.rejectedByCause).toEqual([
      expect.objectContaining({
        cause: expect.stringMatching(/^leaving date doubtful: held/),
        rows: 2,
        ids: 2,
      }),
    ]);
    // The MIS corrected: taken.
    const fixed = await run({ '1001': '2026-03-06', '1002': '2026-03-04' });
    expect(fixed.rejected).toEqual([]);
    expect(await leftOn()).toMatchObject({ '1001': '2026-03-06', '1002': '2026-03-04' });
  });

  it('takes a date backdated to the last day the pupil attended, though absence marks follow it (an off-roll after weeks away)', async () => {
    const s = await run({ '1004': '2026-02-23' });
    expect(s.rejected).toEqual([]);
    expect((await leftOn())['1004']).toBe('2026-02-23');
  });

  it('takes the MIS’s later date over a stored one before the pupil’s last mark', async () => {
    const s = await run({ '1003': '2026-03-09' });
    expect(s.rejected).toEqual([]);
    expect((await leftOn())['1003']).toBe('2026-03-09');
    // A later date than a sound one stored is not taken (the earliest leaving stands).
    await run({ '1003': '2026-03-12' });
    expect((await leftOn())['1003']).toBe('2026-03-09');
  });
});
