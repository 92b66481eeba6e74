import { describe, expect, it } from 'vitest';
import { syncSchool } from '../../src/import/sync-school.ts';
import { wondeStudent as stu, wondeSyncAnswers, wondeSyncSchool } from '../helpers/wonde-sync.ts';

/**
 * Found by review: a Wonde date of birth the connector cannot read (`2015-03-09 junk`, a PHP date in
 * a zone it does not read) was given as "none", and the sync wiped the date of birth Doorstep held —
 * from the school's CTF, say — without a word. Now it is not taken: the date of birth held stays, the
 * rest of the pupil applies, and the import says so by cause, as for a UPN that is not one.
 */
const { school, source, store } = wondeSyncSchool('wondedob');

describe('Wonde: a date of birth it cannot read', () => {
  it('leaves the one Doorstep held, applies the rest of the pupil, and says it was not taken', async () => {
    await store.db.query(
      `INSERT INTO pupils (school_id, mis_id, forename, surname, dob) VALUES
         ($1, '1', 'A', 'Old', '2015-03-09'), ($1, '2', 'B', 'Old', '2016-04-10')`,
      [school.id],
    );
    const now = new Date('2025-01-14T10:00:00Z');
    wondeSyncAnswers(
      [
        { ...stu('S1', 1), date_of_birth: '2015-03-09 junk' },
        {
          ...stu('S2', 2),
          date_of_birth: { date: '2016-04-11 00:00:00.000000', timezone_type: 2, timezone: 'GMT' },
        },
      ],
      [],
    );
    const report = await syncSchool(store.db, school, source(now), { now: () => now, actor: 'test' });
    expect(report.refused).toEqual([]);
    const page = report.applied.find((s) => s.unit === 'wonde students page 1')!;
    expect(page.rejectedByCause).toEqual([
      expect.objectContaining({
        cause:
          'field date_of_birth not a date as YYYY-MM-DD, its time (if any) in Europe/London, UTC or with an offset (not taken; the rest applied)',
        rows: 1,
        first: ['1'],
        firstAt: 'wonde students page 1, record 1',
      }),
    ]);
    expect(page.rejected).toEqual([
      expect.objectContaining({
        where: 'wonde students page 1, record 1',
        reason:
          "field date_of_birth: expected a date as YYYY-MM-DD, its time (if any) in Europe/London, UTC or with an offset; not taken (the rest of the pupil's record applied)",
      }),
    ]);
    const { rows } = await store.db.query<{ mis_id: string; surname: string; dob: string }>(
      `SELECT mis_id, surname, to_char(dob, 'YYYY-MM-DD') AS dob FROM pupils WHERE school_id = $1 ORDER BY mis_id`,
      [school.id],
    );
    // The held date of birth stays; the surname (the rest of the record) is Wonde's; GMT is read.
    expect(rows).toEqual([
      { mis_id: '1', surname: 'P1', dob: '2015-03-09' },
      { mis_id: '2', surname: 'P2', dob: '2016-04-11' },
    ]);
  });
});
