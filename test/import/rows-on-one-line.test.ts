import { describe, expect, it } from 'vitest';
import type { ImportUnit, MisBatch, Where } from '../../connectors/mis/types.ts';
import { configWith } from '../helpers/config.ts';
import { applyUnitAt, markOn2March, storeWithPupils, unitOf } from '../helpers/import-units.ts';
import { BACKENDS } from '../store/dp-fixtures.ts';

/**
 * Found by review: an XML file's records may all be on one line (an export written without line
 * breaks), each read with that line and its own record. A unit refused for two different marks of one
 * session, or two different records of one pupil, named them "on lines 1 and 1" — not which rows, for
 * the data manager to correct. Rows on one line are now named with their records, in the file's order.
 */
const NOW = new Date('2026-03-15T12:00:00Z');
const school = configWith().schools[0]!;

describe.each(BACKENDS)('rows on one line of a file are told apart ($name)', ({ open }) => {
  const s = storeWithPupils(open, school.id, ['1001', '1002']);

  const unit = (label: string, ...batches: MisBatch[]) => unitOf(label, batches);
  const apply = (u: ImportUnit, source: string) => applyUnitAt(s.db, school, NOW, u, source);
  const mark = (pupilMisId: string, mark: string, where: Where) => markOn2March(pupilMisId, mark, where);
  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e as { message: string; details?: string[] },
    );
    expect(err, 'the unit refused').not.toBeNull();
    return err!;
  };

  it('two different marks for one session on one line: named by their records', async () => {
    const err = await refusal(
      apply(
        unit('attendance.xml', {
          kind: 'marks',
          marks: [
            mark('1001', '/', { unit: 'attendance.xml', line: 1, record: 2 }),
            mark('1002', '/', { unit: 'attendance.xml', line: 1, record: 3 }),
            mark('1001', 'N', { unit: 'attendance.xml', line: 1, record: 7 }),
          ],
        }),
        'sims-xml',
      ),
    );
    expect(err.message).toMatch(
      /^attendance\.xml: pupil 1001 has different marks for 2026-03-02 AM on line 1 \(record 2\) and line 1 \(record 7\);/,
    );
  });

  it('two different records of one pupil on one line: named by their records, in the file’s order', async () => {
    const err = await refusal(
      apply(
        unit('pupils.ctf', {
          kind: 'pupils',
          pupils: [
            { misId: '1001', surname: 'A', where: { unit: 'pupils.ctf', line: 1, record: 1 } },
            { misId: '1002', where: { unit: 'pupils.ctf', line: 1, record: 2 } },
            { misId: '1001', surname: 'B', where: { unit: 'pupils.ctf', line: 1, record: 4 } },
            { misId: '1001', surname: 'C', where: { unit: 'pupils.ctf', line: 2, record: 5 } },
          ],
        }),
        'csv',
      ),
    );
    expect(err.message).toMatch(
      /^pupils\.ctf: pupil 1001 has different records on line 1 \(record 1\), line 1 \(record 4\) and line 2 \(record 5\);/,
    );
  });
});
