import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.ts';
import { exportSubject, resolveSubject } from '../../src/store/subject.ts';
import { erasePupilAudited } from '../../src/store/subject-erase.ts';
import { BACKENDS, insert, type TestStore } from './dp-fixtures.ts';

/**
 * An import's refused rows name their pupil by MIS id in their own `pupil` field: a pupil's export and
 * erasure take the rows of that pupil, never another's row whose text holds the same digits (a line
 * number, a date, another pupil's id). Schools' MIS ids are often plain numbers: 10, 100, 4471.
 */
const NOW = new Date('2026-03-15T12:00:00Z');

async function seed(db: Db) {
  for (const id of ['10', '100', '4471'])
    await insert(db, 'pupils', { school_id: 'alpha', mis_id: id, forename: `F${id}`, surname: 'S' });
  return insert(db, 'imports', {
    school_id: 'alpha',
    source: 'csv',
    unit: 'marks.csv',
    status: 'applied',
    started_at: NOW,
    rejected: JSON.stringify([
      // Pupil 4471's, on line 100, dated in the 10th month.
      {
        where: 'marks.csv, line 100',
        reason: "unknown pupil 4471: not in the school's pupil list (import pupils first)",
        pupil: '4471',
      },
      { where: 'marks.csv, line 7', reason: 'date 2026-10-05 is in the future', pupil: '4471' },
      // Pupil 100's, whose text names no id.
      { where: 'marks.csv, line 3', reason: 'date 2027-01-04 is in the future', pupil: '100' },
      // Stored before the field was kept: no pupil named, whatever its text holds.
      { where: 'marks.csv, line 10', reason: 'date 2026-10-10 is in the future' },
    ]),
  });
}

describe.each(BACKENDS)("an import's refused rows, by the pupil they name, on $name", ({ open }) => {
  let store: TestStore;
  let importId: string;
  beforeAll(async () => {
    store = await open();
    importId = await seed(store.db);
  });
  afterAll(async () => store.close());

  const refusedIn = async (pupil: string) => {
    const s = (await resolveSubject(store.db, { kind: 'pupil', schoolId: 'alpha', id: pupil }))!;
    const out = await exportSubject(store.db, s, NOW);
    const rows = out.sections.find((x) => x.table === 'imports')?.rows ?? [];
    return rows.flatMap((r) => (r as { rejected: { where: string }[] }).rejected.map((e) => e.where));
  };

  it("gives each pupil their own refused rows only, never another's that holds their id's digits", async () => {
    expect(await refusedIn('100')).toEqual(['marks.csv, line 3']);
    expect(await refusedIn('10')).toEqual([]);
    expect(await refusedIn('4471')).toEqual(['marks.csv, line 100', 'marks.csv, line 7']);
  });

  it("erases a pupil's refused rows only, leaving other pupils' and the unnamed old ones", async () => {
    await erasePupilAudited(store.db, 'alpha', '10', 'user:1', NOW);
    await erasePupilAudited(store.db, 'alpha', '100', 'user:1', NOW);
    const { rows } = await store.db.query<{ rejected: { where: string }[] }>(
      'SELECT rejected FROM imports WHERE id = $1',
      [importId],
    );
    expect(rows[0]!.rejected.map((r) => r.where)).toEqual([
      'marks.csv, line 100',
      'marks.csv, line 7',
      'marks.csv, line 10',
    ]);
    await erasePupilAudited(store.db, 'alpha', '4471', 'user:1', NOW);
    const after = await store.db.query<{ rejected: { where: string }[] }>(
      'SELECT rejected FROM imports WHERE id = $1',
      [importId],
    );
    expect(after.rows[0]!.rejected.map((r) => r.where)).toEqual(['marks.csv, line 10']);
  });
});
