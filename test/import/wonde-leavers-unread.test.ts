import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { syncSchool } from '../../src/import/sync-school.ts';
import { wondeStudent as stu, wondeSyncSchool } from '../helpers/wonde-sync.ts';

/**
 * Found by review: a Wonde `students-leaver` list that could not be read (a token without that
 * permission, a 5xx, a page that does not parse) was dropped without a word — pupils who left stayed
 * on roll sync after sync, and nothing said why. The sync still goes on; now it says so, in its report
 * and as a refused import on the data page.
 */
const { school, source, store } = wondeSyncSchool('wondeleaversunread');
const onePage = (data: unknown[]) => ({ data, meta: { pagination: { next: null, more: false } } });

function answers(leavers: { status: number; body: unknown }) {
  nock('https://api.wonde.com')
    .get('/v1.0/schools/A1/students')
    .query(true)
    .reply(200, onePage([stu('S1', 7)]))
    .get('/v1.0/schools/A1/students-leaver')
    .query(true)
    .reply(leavers.status, leavers.body as never)
    .get('/v1.0/schools/A1/deletions')
    .query(true)
    .reply(200, onePage([]))
    .get('/v1.0/schools/A1/attendance/session')
    .query(true)
    .reply(200, onePage([]));
}

describe('Wonde: a students-leaver list that cannot be read', () => {
  it('is said in the sync report and among the imports; the rest of the sync is applied', async () => {
    const now = new Date('2025-01-15T10:00:00Z');
    answers({ status: 403, body: { error: 'not permitted' } });
    const report = await syncSchool(store.db, school, source(now), { now: () => now, actor: 'test' });
    const said =
      'Wonde students-leaver could not be read: Wonde refused the token for this list (the students were read with it): ask the school to give the Doorstep app in Wonde access to leavers; pupils who left are not marked off roll until it can';
    expect(report.refused).toEqual([{ unit: 'wonde students-leaver', reason: said }]);
    expect(report.applied.map((s) => s.unit)).toEqual([
      'wonde students page 1',
      'wonde deletions page 1',
      'wonde attendance page 1',
    ]);
    const { rows } = await store.db.query<{ unit: string; status: string; error: string }>(
      `SELECT unit, status, error FROM imports WHERE school_id = $1 AND status = 'refused'`,
      [school.id],
    );
    expect(rows).toEqual([{ unit: 'wonde students-leaver', status: 'refused', error: said }]);
  });

  it('a page of it that does not parse is said too, naming the field', async () => {
    const now = new Date('2025-01-16T10:00:00Z');
    answers({ status: 200, body: onePage([{ id: 'S9' }]) });
    const report = await syncSchool(store.db, school, source(now), { now: () => now, actor: 'test' });
    expect(report.refused).toEqual([
      {
        unit: 'wonde students-leaver',
        reason: expect.stringMatching(
          /^Wonde students-leaver could not be read: .*unexpected response shape at record 1, field mis_id: .*; pupils who left are not marked off roll until it can$/,
        ),
      },
    ]);
  });
});
