import { describe, expect, it } from 'vitest';
import type { PupilRecord } from '../../../connectors/mis/types.ts';
import { sessionAttendance } from '../../../connectors/mis/wonde/wire.ts';
import { collectUnits } from '../../helpers/mis.ts';
import { wondeSourceTests } from '../../helpers/wonde-api.ts';

/**
 * Found by review: a Wonde date of birth in a shape or zone the connector does not read
 * (`2015-03-09 junk`, PHP's `{ timezone_type: 2, timezone: 'GMT' }`) was given as `dob: null`, which
 * the import takes as "the MIS holds none": the date of birth Doorstep had (from a CTF, say) was
 * wiped, and nothing said so. Such a date of birth is now left out of the pupil (the one Doorstep had
 * stays) and named as unusable, as a UPN that is not one is, so the import says it was not taken.
 * One that does not exist (PHP's zero date, 31 February) is still unknown (null). GMT is read as UTC.
 */
const { S, none, source, lists } = wondeSourceTests('2025-06-14T10:00:00Z');

async function pupilsOf(dobs: unknown[]): Promise<PupilRecord[]> {
  lists(dobs.map((date_of_birth, i) => ({ id: `S${i + 1}`, mis_id: 1001 + i, date_of_birth })))
    .get(`${S}/attendance/session`)
    .query(true)
    .reply(200, none);
  const units = await collectUnits(source(10).pull({ value: null }));
  const batch = units[0]!.batches[0]!;
  if (batch.kind !== 'pupils') throw new Error(batch.kind);
  return batch.pupils;
}

const unusable = {
  field: 'date_of_birth',
  expected: 'a date as YYYY-MM-DD, its time (if any) in Europe/London, UTC or with an offset',
};

describe('Wonde: a date of birth', () => {
  it('in a shape or zone not read is left out (the one Doorstep had stays) and named as unusable', async () => {
    const pupils = await pupilsOf([
      '2015-03-09 junk',
      { date: '2015-03-09 00:00:00.000000', timezone_type: 3, timezone: 'America/New_York' },
      { date: '9 March 2015', timezone_type: 3, timezone: 'Europe/London' },
    ]);
    for (const p of pupils) {
      expect(p).not.toHaveProperty('dob');
      expect(p.unusable).toEqual([unusable]);
    }
  });

  it('that does not exist is unknown (null), as before, and not said', async () => {
    const pupils = await pupilsOf([
      '0000-00-00 00:00:00',
      { date: '0000-00-00 00:00:00.000000', timezone_type: 3, timezone: 'UTC' },
      { date: '2015-02-31 00:00:00.000000', timezone_type: 1, timezone: '+00:00' },
      null,
    ]);
    for (const p of pupils) {
      expect(p).toHaveProperty('dob', null);
      expect(p).not.toHaveProperty('unusable');
    }
  });

  it('in GMT (PHP names the zone by its abbreviation) is read as UTC', async () => {
    const pupils = await pupilsOf([
      { date: '2015-03-09 00:00:00.000000', timezone_type: 2, timezone: 'GMT' },
      { date: '2015-06-09 00:00:00.000000', timezone_type: 3, timezone: 'UTC' },
      '2015-03-09',
    ]);
    expect(pupils.map((p) => [p.dob, p.unusable])).toEqual([
      ['2015-03-09', undefined],
      ['2015-06-09', undefined],
      ['2015-03-09', undefined],
    ]);
  });

  it('is said with the pupil’s other unusable fields (a bad UPN)', async () => {
    lists([
      {
        id: 'S1',
        mis_id: 1001,
        date_of_birth: '2015-03-09 junk',
        education_details: { data: { upn: 'not-a-upn' } },
      },
    ])
      .get(`${S}/attendance/session`)
      .query(true)
      .reply(200, none);
    const [unit] = await collectUnits(source(10).pull({ value: null }));
    expect(unit!.batches[0]).toMatchObject({
      pupils: [
        {
          misId: '1001',
          unusable: [{ field: 'education_details.upn', expected: 'a 13-character UPN' }, unusable],
        },
      ],
    });
    const pupil = (unit!.batches[0] as { pupils: PupilRecord[] }).pupils[0]!;
    expect(pupil).not.toHaveProperty('dob');
    expect(pupil).not.toHaveProperty('upn');
  });
});

describe('Wonde: a mark’s date in GMT', () => {
  it('is an instant in UTC, whose day is London’s', () => {
    const dayOf = (date: unknown) => {
      const r = sessionAttendance.safeParse({ student: 'S1', date, session: 'AM' });
      return r.success ? r.data.date : r.error.issues[0]!.message;
    };
    // 23:30 GMT on 1 June is 00:30 BST on 2 June.
    expect(dayOf({ date: '2025-06-01 23:30:00.000000', timezone_type: 2, timezone: 'GMT' })).toBe(
      '2025-06-02',
    );
    expect(dayOf({ date: '2025-01-01 23:30:00.000000', timezone_type: 2, timezone: 'GMT' })).toBe(
      '2025-01-01',
    );
    // Another abbreviation is not guessed (BST is also Bangladesh's).
    expect(dayOf({ date: '2025-06-01 23:30:00.000000', timezone_type: 2, timezone: 'BST' })).toMatch(
      /^expected a date as YYYY-MM-DD/,
    );
    // A day that does not exist is said to be one, whatever its zone.
    expect(dayOf({ date: '2024-11-31 00:00:00.000000', timezone_type: 3, timezone: 'UTC' })).toBe(
      'expected a real calendar date',
    );
  });
});
