import { describe, expect, it } from 'vitest';
import { syncSchool } from '../../src/import/sync-school.ts';
import { wondeStudent as stu, wondeSyncAnswers, wondeSyncSchool } from '../helpers/wonde-sync.ts';

/**
 * Found by review: Wonde's `deletions` list gives every deletion the school ever had, at every sync,
 * so a student deleted before Doorstep came (one the school's pupils never held) was reported as an
 * unknown leaver in the import summary at every sync, for good. Now such a deletion is passed over
 * quietly, as a leaver from `students-leaver` is; a deletion of a pupil the school has still marks
 * them off roll.
 */
const { school, source, store } = wondeSyncSchool('wondedeletions');

describe('Wonde: deletions, read in full at every sync', () => {
  it('a deletion of a student the school never had is not reported at every sync', async () => {
    // Deleted from the MIS before Doorstep came: the deletions list keeps it for good.
    const gone = [{ id: 'S0', mis_id: '5555', type: 'student' }];
    const reports: string[][] = [];
    for (const at of ['2025-01-14T10:00:00Z', '2025-01-14T14:30:00Z', '2025-01-15T10:30:00Z']) {
      const now = new Date(at);
      wondeSyncAnswers([stu('S1', 7)], [], gone);
      const r = await syncSchool(store.db, school, source(now), { now: () => now, actor: 'test' });
      expect(r.refused).toEqual([]);
      reports.push(r.applied.flatMap((s) => s.rejected.map((x) => x.reason)));
    }
    expect(reports).toEqual([[], [], []]);
  });

  it('a deletion of a pupil the school has still marks them off roll', async () => {
    const now = new Date('2025-01-16T10:30:00Z');
    wondeSyncAnswers([stu('S1', 7), stu('S2', 8)], []);
    await syncSchool(store.db, school, source(now), { now: () => now, actor: 'test' });
    const later = new Date('2025-01-17T10:30:00Z');
    wondeSyncAnswers([stu('S1', 7)], [], [{ id: 'S2', mis_id: '8', type: 'student' }]);
    await syncSchool(store.db, school, source(later), { now: () => later, actor: 'test' });
    const { rows } = await store.db.query<{ left_on: string | null }>(
      `SELECT to_char(left_on, 'YYYY-MM-DD') AS left_on FROM pupils WHERE mis_id = '8'`,
    );
    expect(rows).toEqual([{ left_on: '2025-01-17' }]);
  });

  it('a deletion whose mis_id is a number, as the students list gives it, marks the pupil off roll', async () => {
    const now = new Date('2025-01-18T10:30:00Z');
    wondeSyncAnswers([stu('S1', 7), stu('S3', 9)], []);
    await syncSchool(store.db, school, source(now), { now: () => now, actor: 'test' });
    const later = new Date('2025-01-19T10:30:00Z');
    wondeSyncAnswers([stu('S1', 7)], [], [{ id: 'S3', mis_id: 9, type: 'student' }]);
    const report = await syncSchool(store.db, school, source(later), { now: () => later, actor: 'test' });
    const { rows } = await store.db.query<{ left_on: string | null }>(
      `SELECT to_char(left_on, 'YYYY-MM-DD') AS left_on FROM pupils WHERE mis_id = '9'`,
    );
    expect(rows).toEqual([{ left_on: '2025-01-19' }]);
    expect(report.applied.flatMap((s) => s.rejected)).toEqual([]);
  });

  it('a deletion with no mis_id whose Wonde id is in none of the lists is reported, never passed over quietly', async () => {
    const now = new Date('2025-01-20T10:30:00Z');
    wondeSyncAnswers([stu('S1', 7)], [], [{ id: 'S5', mis_id: null, type: 'student' }]);
    const report = await syncSchool(store.db, school, source(now), { now: () => now, actor: 'test' });
    const deletions = report.applied.find((s) => s.unit === 'wonde deletions page 1');
    expect(deletions?.rejected).toEqual([
      {
        where: 'wonde deletions page 1, record 1',
        pupil: 'wonde:S5',
        reason: expect.stringMatching(
          /^field mis_id: expected the deleted student's MIS id \(Wonde gave none, .*; no pupil is marked off roll for wonde:S5$/,
        ),
      },
    ]);
    expect(report.refused).toEqual([]);
  });
});
