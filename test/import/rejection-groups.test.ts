import { describe, expect, it } from 'vitest';
import { groupRejections, reasonKind } from '../../src/import/rejection-groups.ts';

describe('rejected rows grouped by why', () => {
  it('takes the pupil, date, line and length out of each reason the import writes', () => {
    expect(reasonKind("unknown pupil 9001: not in the school's pupil list (import pupils first)")).toBe(
      "pupil not in the school's pupil list",
    );
    expect(reasonKind('date 2027-01-04 is in the future')).toBe('date in the future');
    expect(reasonKind('date 2023-10-02 is outside the accepted academic years (2025/26, 2026/27)')).toBe(
      'date outside the accepted academic years (2025/26, 2026/27)',
    );
    expect(reasonKind('field forename: expected at most 100 characters, got 101')).toBe(
      'forename longer than 100 characters',
    );
    expect(
      reasonKind(
        "mark X01: the MIS counts it as authorised absence but the DfE code table (with the school's code map) says present; check the mark's setup in the MIS or the code map",
      ),
    ).toBe('mark X01: the MIS counts it as authorised absence, the DfE table as present');
    expect(reasonKind('something new')).toBe('something new');
  });

  it('counts each reason, keeps the first three rows as examples, most frequent first', () => {
    const rows = [
      ...[1, 2, 3, 4, 5].map((n) => ({
        where: `marks.csv, line ${n + 1}`,
        reason: `unknown pupil 90${n}: not in the school's pupil list (import pupils first)`,
      })),
      { where: 'marks.csv, line 9', reason: 'date 2027-01-04 is in the future' },
    ];
    const g = groupRejections(rows);
    expect(g.total).toBe(6);
    expect(g.groups.map((x) => [x.reason, x.count])).toEqual([
      ["pupil not in the school's pupil list", 5],
      ['date in the future', 1],
    ]);
    expect(g.groups[0]!.examples.map((e) => e.where)).toEqual([
      'marks.csv, line 2',
      'marks.csv, line 3',
      'marks.csv, line 4',
    ]);
  });

  it('counts a row whose AM and PM marks were both rejected for one reason once', () => {
    const twice = { where: 'marks.csv, line 4, record 3', reason: 'date 2027-01-04 is in the future' };
    const g = groupRejections([
      twice,
      { ...twice },
      { where: 'marks.csv, line 5, record 4', reason: twice.reason },
    ]);
    expect(g.total).toBe(2);
    expect(g.groups[0]!.examples.map((e) => e.where)).toEqual([
      'marks.csv, line 4, record 3',
      'marks.csv, line 5, record 4',
    ]);
  });

  it('counts the rows beyond the first 1,000 in the total, not in a reason', () => {
    const g = groupRejections([
      { where: 'a.csv, line 2', reason: 'date 2027-01-04 is in the future' },
      { where: 'a.csv', reason: '1234 more rows rejected' },
    ]);
    expect(g).toMatchObject({ total: 1235, notItemised: 1234 });
    expect(g.groups).toHaveLength(1);
  });

  it('an import without rejections, or a stored value that is not a list of rows, gives nothing', () => {
    expect(groupRejections([])).toEqual({ total: 0, groups: [], notItemised: 0 });
    expect(groupRejections(null)).toEqual({ total: 0, groups: [], notItemised: 0 });
  });
});
