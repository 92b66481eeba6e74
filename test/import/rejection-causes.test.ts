import { describe, expect, it } from 'vitest';
import { RejectionCauses } from '../../src/import/rejection-causes.ts';

const unknown = (id: string) => ({
  cause: "unknown pupil: not in the school's pupil list (import pupils first)",
  idKind: 'pupils',
  id,
});

describe("an import's rejected rows by cause", () => {
  it('counts rows and distinct ids per cause, keeps the first five ids and where the first was, most rows first', () => {
    const c = new RejectionCauses();
    c.add('f.xml, line 9', { cause: 'date in the future', idKind: 'dates', id: '2099-01-01' });
    for (let i = 0; i < 60; i++) c.add(`f.xml, line ${10 + i}`, unknown(String(900 + (i % 7))));
    expect(c.total()).toBe(61);
    expect(c.list()).toEqual([
      {
        cause: "unknown pupil: not in the school's pupil list (import pupils first)",
        rows: 60,
        idKind: 'pupils',
        ids: 7,
        first: ['900', '901', '902', '903', '904'],
        firstAt: 'f.xml, line 10',
      },
      {
        cause: 'date in the future',
        rows: 1,
        idKind: 'dates',
        ids: 1,
        first: ['2099-01-01'],
        firstAt: 'f.xml, line 9',
      },
    ]);
  });

  it('counts a row whose AM and PM marks were both rejected for one cause once', () => {
    const c = new RejectionCauses();
    c.add('marks.csv, line 2', unknown('901'));
    c.add('marks.csv, line 2', unknown('901'));
    c.add('marks.csv, line 2', { cause: 'date in the future', idKind: 'dates', id: '2099-01-01' });
    expect(c.total()).toBe(2);
    expect(c.list().map((g) => [g.cause.slice(0, 14), g.rows])).toEqual([
      ['unknown pupil:', 1],
      ['date in the fu', 1],
    ]);
  });

  it("counts a row once but takes every id and year of its marks (a CTF block's H, Y and J)", () => {
    const c = new RejectionCauses();
    const old = (id: string) => ({ cause: 'a code from before the 2024 code set', idKind: 'marks', id });
    for (const code of ['H', 'H', 'Y', 'Y', 'J', 'J']) c.add('ctf.xml, line 39, record 2', old(code));
    const years = (year: number) => ({
      cause: 'date outside the accepted academic years',
      idKind: 'dates',
      id: `${year}-10-01`,
      year,
    });
    c.add('marks.csv, line 2', years(2022));
    c.add('marks.csv, line 2', years(2021));
    expect(c.total()).toBe(2);
    expect(c.list()).toEqual([
      {
        cause: 'a code from before the 2024 code set',
        rows: 1,
        idKind: 'marks',
        ids: 3,
        first: ['H', 'Y', 'J'],
        firstAt: 'ctf.xml, line 39, record 2',
      },
      {
        cause: 'date outside the accepted academic years',
        rows: 1,
        idKind: 'dates',
        ids: 2,
        first: ['2022-10-01', '2021-10-01'],
        firstAt: 'marks.csv, line 2',
        years: [2021, 2022],
      },
    ]);
  });

  it('a cause without ids counts rows only', () => {
    const c = new RejectionCauses();
    c.add('p.xml, line 3', { cause: 'a leaver without an MIS id or a leaving date (YYYY-MM-DD)' });
    expect(c.list()).toEqual([
      {
        cause: 'a leaver without an MIS id or a leaving date (YYYY-MM-DD)',
        rows: 1,
        ids: 0,
        first: [],
        firstAt: 'p.xml, line 3',
      },
    ]);
  });
});
