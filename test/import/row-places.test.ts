import { describe, expect, it } from 'vitest';
import type { ImportUnit, MisBatch } from '../../connectors/mis/types.ts';
import { configWith } from '../helpers/config.ts';
import {
  applyUnitAt,
  expectOneRejected,
  markOn2March as mark,
  storeWithPupils,
  unitOf,
} from '../helpers/import-units.ts';
import { BACKENDS } from '../store/dp-fixtures.ts';

/**
 * A report about a row of an import names where the row is: a file's line (and record), an API's
 * record (its page in the unit's name) — never a line an API does not have. The marks of a pupil the
 * school does not have, the repeats a unit is refused for, and a leaver the school never had are
 * reported once the unit's rows are staged; each is named where its row is, as one reported while
 * reading is.
 */
const NOW = new Date('2026-03-15T12:00:00Z');
const school = configWith().schools[0]!;

describe.each(BACKENDS)('where a staged row is reported ($name)', ({ open }) => {
  const s = storeWithPupils(open, school.id, ['1001', '1002']);

  /** A unit as an API connector gives one (`holdsMarks`, records with no line) or as a file reader does. */
  const unit = (label: string, api: boolean, ...batches: MisBatch[]) =>
    unitOf(label, batches, { holdsMarks: api });
  const apply = (u: ImportUnit, source: string) => applyUnitAt(s.db, school, NOW, u, source);

  it("names an API's record (its page in the unit's name) for an unknown pupil's mark, never a line; a file's line and record", async () => {
    const label = 'wonde attendance page 2';
    const fromApi = await apply(
      unit(label, true, {
        kind: 'marks',
        marks: [
          mark('1001', '/', { unit: label, record: 1 }),
          mark('1001', '/', { unit: label, record: 2 }, 'PM'),
          mark('9001', 'N', { unit: label, record: 3 }),
        ],
      }),
      'wonde',
    );
    expectOneRejected(
      fromApi,
      {
        where: 'wonde attendance page 2, record 3',
        pupil: '9001',
        reason:
          "unknown pupil 9001: not in the school's pupil list — the mark is kept for 30 days and applied once the pupil is imported",
      },
      { firstAt: 'wonde attendance page 2, record 3' },
    );

    const fromFile = await apply(
      unit('marks.csv', false, {
        kind: 'marks',
        marks: [
          mark('1002', '/', { unit: 'marks.csv', line: 2, record: 1 }),
          mark('9002', 'N', { unit: 'marks.csv', line: 4, record: 2 }),
        ],
      }),
      'csv',
    );
    expect(fromFile.rejected).toEqual([
      {
        where: 'marks.csv, line 4, record 2',
        pupil: '9002',
        reason: "unknown pupil 9002: not in the school's pupil list (import pupils first)",
      },
    ]);
  });

  it("refuses an API unit's two marks for one session naming their records, a file's naming their lines", async () => {
    const label = 'wonde attendance page 1';
    await expect(
      apply(
        unit(label, true, {
          kind: 'marks',
          marks: [
            mark('1001', '/', { unit: label, record: 2 }),
            mark('1002', '/', { unit: label, record: 3 }),
            mark('1001', 'N', { unit: label, record: 5 }),
          ],
        }),
        'wonde',
      ),
    ).rejects.toThrow(
      /^wonde attendance page 1: pupil 1001 has different marks for 2026-03-02 AM on records 2 and 5; one session/,
    );
    await expect(
      apply(
        unit('marks.csv', false, {
          kind: 'marks',
          marks: [
            mark('1001', '/', { unit: 'marks.csv', line: 3, record: 2 }),
            mark('1001', 'N', { unit: 'marks.csv', line: 6, record: 5 }),
          ],
        }),
        'csv',
      ),
    ).rejects.toThrow(/^marks\.csv: pupil 1001 has different marks for 2026-03-02 AM on lines 3 and 6;/);
  });

  it("refuses an API unit's two different records of one pupil naming the records, a file's naming the lines", async () => {
    const label = 'arbor students changelog from revision 0';
    await expect(
      apply(
        unit(label, true, {
          kind: 'pupils',
          pupils: [
            { misId: '1001', surname: 'A', where: { unit: label, record: 1 } },
            { misId: '1002', where: { unit: label, record: 2 } },
            { misId: '1001', surname: 'B', where: { unit: label, record: 4 } },
          ],
        }),
        'arbor',
      ),
    ).rejects.toThrow(
      /^arbor students changelog from revision 0: pupil 1001 has different records on records 1 and 4;/,
    );
    await expect(
      apply(
        unit('pupils.csv', false, {
          kind: 'pupils',
          pupils: [
            { misId: '1001', surname: 'A', where: { unit: 'pupils.csv', line: 2, record: 1 } },
            { misId: '1001', surname: 'B', where: { unit: 'pupils.csv', line: 5, record: 4 } },
          ],
        }),
        'csv',
      ),
    ).rejects.toThrow(/^pupils\.csv: pupil 1001 has different records on lines 2 and 5;/);
  });

  it("names the leaver's record for a leaver the school never had (an API's record, a file's line), not the unit alone", async () => {
    const label = 'arbor students changelog from revision 7';
    const fromApi = await apply(
      unit(label, true, {
        kind: 'leavers',
        leavers: ['1002', '9003'].map((misId, i) => ({
          misId,
          leftOn: '2026-03-13',
          undated: true,
          where: { unit: label, record: i + 3 },
        })),
      }),
      'arbor',
    );
    expectOneRejected(
      fromApi,
      {
        where: 'arbor students changelog from revision 7, record 4',
        pupil: '9003',
        reason: "leaver 9003: not in the school's pupil list (nothing to mark off-roll)",
      },
      { firstAt: 'arbor students changelog from revision 7, record 4' },
    );

    const fromFile = await apply(
      unit('leavers.csv', false, {
        kind: 'leavers',
        leavers: [
          { misId: '9004', leftOn: '2026-03-13', where: { unit: 'leavers.csv', line: 2, record: 1 } },
          { misId: '9004', leftOn: '2026-03-12', where: { unit: 'leavers.csv', line: 3, record: 2 } },
        ],
      }),
      'csv',
    );
    // Named once, at its first record.
    expect(fromFile.rejected).toEqual([
      {
        where: 'leavers.csv, line 2, record 1',
        pupil: '9004',
        reason: "leaver 9004: not in the school's pupil list (nothing to mark off-roll)",
      },
    ]);
  });
});
