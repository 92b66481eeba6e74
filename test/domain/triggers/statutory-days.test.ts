import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool } from '../../../src/config/policy-packs.ts';
import { evaluatePupil } from '../../../src/domain/triggers/evaluate.ts';
import { configWith } from '../../helpers/config.ts';
import { calendar, pupil } from './helpers.ts';

/**
 * attendance.md: "continuous unauthorised absence of 10 school days → notify the LA"; "notify the LA
 * where a pupil coded I will miss 15 school days". A school day counts by the pupil's possible
 * sessions that day: a pupil whose afternoons are not possible here (`D`: at the other school they
 * are dual registered with; `X`: not required — a nursery or rising-5 pupil) and who misses every
 * morning misses every school day, not half of each.
 */
const packs = loadPolicyPacks('config/policies');
const rulesOf = (...ids: string[]) => {
  const r = rulesForSchool({ ...configWith({ school: '' }).schools[0]!, policies: ids }, packs);
  expect(r.problems).toEqual([]);
  return r.rules;
};
const RETURN = 'statutory:continuous-unauthorised-10';
const ILLNESS = 'statutory:illness-15';
const finding = (p: ReturnType<typeof pupil>, key: string, today: string) =>
  evaluatePupil(p, rulesOf('statutory', 'heath-lane'), { today, explain: true }).find(
    (f) => f.ruleKey === key,
  )!;
type Marks = Record<string, string | [string, string]>;
const each = (dates: readonly string[], m: string | [string, string]): Marks =>
  Object.fromEntries(dates.map((d) => [d, m]));

describe('statutory returns count school days by the pupil’s possible sessions that day', () => {
  const twelve = calendar.between('2025-11-03', '2025-11-19'); // 12 school days (Fri 14th INSET)

  for (const afternoon of ['D', 'X']) {
    it(`N every morning, ${afternoon} every afternoon, 12 school days: the 10-day LA return is due`, () => {
      const p = pupil(each(twelve, ['N', afternoon]), { to: '2025-11-19' });
      // Heath Lane's visit trigger reads the register so, and now so does the return.
      expect(finding(p, 'heath-lane:absent-3-days', '2025-11-19').explanation).toMatch(
        /^absent 12 school days in a row/,
      );
      const ten = finding(p, RETURN, '2025-11-19');
      expect(ten).toMatchObject({
        fired: true,
        evidence: { from: '2025-11-03', to: '2025-11-19', count: 12, sessionsCounted: 12 },
        explanation: 'absent 12 sessions (12 school days) in a row (2025-11-03 AM to 2025-11-19 AM)',
      });
      // Not seen now, the run goes on: a child missing now (King's missing-education exemption rests on it).
      expect(ten.evidence.ended).toBeUndefined();
      expect(ten.evidence.seenLast).toBeUndefined();
    });
  }

  it('one possible session a day: 9 school days of N are not 10, the 10th is', () => {
    const nine = calendar.between('2025-11-03', '2025-11-13');
    expect(nine).toHaveLength(9);
    expect(finding(pupil(each(nine, ['N', 'D']), { to: '2025-11-13' }), RETURN, '2025-11-13')).toMatchObject({
      fired: false,
      explanation: 'absent 9 sessions (9 school days) in a row; the rule needs 10 school days',
    });
    const ten = [...nine, '2025-11-17'];
    expect(finding(pupil(each(ten, ['N', 'D']), { to: '2025-11-17' }), RETURN, '2025-11-17')).toMatchObject({
      fired: true,
      evidence: { count: 10, sessionsCounted: 10 },
    });
  });

  it('one- and two-session days mixed: each counts one school day when all its possible sessions are absent', () => {
    // Mon 3 – Fri 7 N/D (5 days, 5 sessions), Mon 10 – Mon 17 N all day (5 days, 10 sessions).
    const marks: Marks = {
      ...each(calendar.between('2025-11-03', '2025-11-07'), ['N', 'D']),
      ...each(calendar.between('2025-11-10', '2025-11-17'), 'N'),
    };
    expect(finding(pupil(marks, { to: '2025-11-17' }), RETURN, '2025-11-17')).toMatchObject({
      fired: true,
      evidence: { count: 10, sessionsCounted: 15 },
      explanation: 'absent 15 sessions (10 school days) in a row (2025-11-03 AM to 2025-11-17 PM)',
    });
    // The other way round, with a snow afternoon (Y2) in it: still 10 days.
    const other: Marks = {
      ...each(calendar.between('2025-11-03', '2025-11-07'), 'N'),
      '2025-11-05': ['N', 'Y2'],
      ...each(calendar.between('2025-11-10', '2025-11-17'), ['X', 'O']),
    };
    expect(finding(pupil(other, { to: '2025-11-17' }), RETURN, '2025-11-17')).toMatchObject({
      fired: true,
      evidence: { count: 10, sessionsCounted: 14 },
    });
  });

  it('nine days and a morning are still not 10: a two-session day with only its morning absent counts half', () => {
    const nine = calendar.between('2025-11-03', '2025-11-13');
    // The 10:30 sync of Monday 17: its morning N, its afternoon (possible, not yet taken) to come.
    const morning = pupil({ ...each(nine, ['N', 'D']), '2025-11-17': ['N', ''] }, { to: '2025-11-17' });
    expect(finding(morning, RETURN, '2025-11-17')).toMatchObject({
      fired: false,
      evidence: { count: 9.5, sessionsCounted: 10 },
      explanation: 'absent 10 sessions (9.5 school days) in a row; the rule needs 10 school days',
    });
    // In after lunch: never 10.
    const back = pupil({ ...each(nine, ['N', 'D']), '2025-11-17': ['N', '\\'] }, { to: '2025-11-18' });
    expect(finding(back, RETURN, '2025-11-18').fired).toBe(false);
    // Absent that afternoon too: the 10th day.
    const all = pupil({ ...each(nine, ['N', 'D']), '2025-11-17': 'N' }, { to: '2025-11-17' });
    expect(finding(all, RETURN, '2025-11-17')).toMatchObject({ fired: true, evidence: { count: 10 } });
    // Home at lunch on Monday 3 (its afternoon half a day), then nine one-session days: 9.5, not 10.
    const lunch = pupil(
      { '2025-11-03': ['/', 'N'], ...each(calendar.between('2025-11-04', '2025-11-17'), ['N', 'D']) },
      { to: '2025-11-17' },
    );
    expect(finding(lunch, RETURN, '2025-11-17')).toMatchObject({ fired: false, evidence: { count: 9.5 } });
  });

  it('a run that ended still counts its one-session days for the return (afterReturn)', () => {
    const ten = calendar.between('2025-11-03', '2025-11-17');
    const p = pupil({ ...each(ten, ['O', 'X']), '2025-11-18': ['/', 'X'] }, { to: '2025-11-18' });
    expect(finding(p, RETURN, '2025-11-18')).toMatchObject({
      fired: true,
      evidence: { from: '2025-11-03', to: '2025-11-17', count: 10, sessionsCounted: 10, ended: true },
    });
  });

  it('I every morning, D every afternoon, 16 school days: the 15-day illness return is due', () => {
    const ill = calendar.between('2025-10-24', '2025-11-19'); // Fri 24 Oct, then 12 after half term
    const sept = calendar.between('2025-09-08', '2025-09-10');
    expect(ill.length + sept.length).toBe(16);
    const p = pupil({ ...each(ill, ['I', 'D']), ...each(sept, ['I', 'D']) }, { to: '2025-11-19' });
    expect(finding(p, ILLNESS, '2025-11-19')).toMatchObject({
      fired: true,
      evidence: { count: 16 },
      explanation: expect.stringMatching(/^16 school days coded I this academic year/),
    });
  });

  it('illness: one-session days count whole, a two-session day with one session ill half — 14.5 are not 15', () => {
    const fourteen = calendar.between('2025-11-03', '2025-11-21');
    expect(fourteen).toHaveLength(14);
    const marks: Marks = { ...each(fourteen, ['I', 'X']), '2025-11-24': ['I', '\\'] };
    expect(finding(pupil(marks, { to: '2025-11-24' }), ILLNESS, '2025-11-24')).toMatchObject({
      fired: false,
      explanation: '14.5 school day(s) coded I this academic year; the rule needs 15',
    });
    expect(
      finding(pupil({ ...marks, '2025-11-24': ['I', 'X'] }, { to: '2025-11-24' }), ILLNESS, '2025-11-24'),
    ).toMatchObject({ fired: true, evidence: { count: 15 } });
    // Two-session days as ever: 15 days of I all day are 15.
    const two = pupil(each(calendar.between('2025-11-03', '2025-11-24'), 'I'), { to: '2025-11-24' });
    expect(finding(two, ILLNESS, '2025-11-24')).toMatchObject({ fired: true, evidence: { count: 15 } });
  });

  it('illness: an afternoon on a part-time timetable (C2) or study leave (S) is a possible session — a morning ill is half a day', () => {
    // attendance.md lists C2 and S among authorised absences (possible sessions), as the 10-day
    // return reads them; only the not-possible codes (D, X, Q, Y, Z, #) make a morning a whole day.
    const fifteen = calendar.between('2025-11-03', '2025-11-24');
    expect(fifteen).toHaveLength(15);
    for (const pm of ['C2', 'S'])
      expect(
        finding(pupil(each(fifteen, ['I', pm]), { to: '2025-11-24' }), ILLNESS, '2025-11-24'),
      ).toMatchObject({
        fired: false,
        evidence: { count: 7.5 },
      });
  });
});
