import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyPacks, rulesForSchool, schoolPackProblems } from '../../../src/config/policy-packs.ts';
import { SchoolCalendar } from '../../../src/domain/calendar.ts';
import { evaluatePupil } from '../../../src/domain/triggers/evaluate.ts';
import { PupilAttendance } from '../../../src/domain/triggers/pupil-attendance.ts';
import { configWith } from '../../helpers/config.ts';
import { calendar, pupil } from './helpers.ts';

const packs = loadPolicyPacks('config/policies');
const rulesOf = (...ids: string[]) => {
  const school = configWith({ school: '' }).schools[0]!;
  const r = rulesForSchool({ ...school, policies: ids }, packs);
  expect(r.problems).toEqual([]);
  return r.rules;
};
/** Fired rule keys with their action and role: the expected triggers, written out by hand. */
const fired = (p: ReturnType<typeof pupil>, ids: string[], today: string) =>
  evaluatePupil(p, rulesOf(...ids), { today })
    .filter((f) => f.fired)
    .map((f) => `${f.ruleKey} → ${f.action} by ${f.role}`);

const TODAY = '2025-11-18'; // Tuesday; Friday 14th was an INSET day

describe('policy packs on small scenarios', () => {
  it('loads every pack', () => {
    expect([...packs.keys()].sort()).toEqual([
      'hampton',
      'heath-lane',
      'kings-gomer',
      'lime-hills',
      'statutory',
      'thames-view',
    ]);
  });

  it('Heath Lane: 3 days unexplained → home visit; 3 days ill with a reason each day → phone call', () => {
    const unexplained = pupil({ '2025-11-13': 'N', '2025-11-17': 'N', '2025-11-18': 'N' }, { to: TODAY });
    expect(fired(unexplained, ['heath-lane'], TODAY)).toEqual([
      'heath-lane:absent-3-days → home-visit by attendance-coordinator',
    ]);
    const ill = pupil({ '2025-11-13': 'I', '2025-11-17': 'I', '2025-11-18': 'I' }, { to: TODAY });
    expect(fired(ill, ['heath-lane'], TODAY)).toEqual([
      'heath-lane:absent-3-days → phone-call by attendance-coordinator',
    ]);
    // "A phone call home to address 3 days of absence": ill a fourth day, with a reason each day, the visit.
    const longer = pupil(
      { '2025-11-12': 'I', '2025-11-13': 'I', '2025-11-17': 'I', '2025-11-18': 'I' },
      { to: TODAY },
    );
    const [f] = evaluatePupil(longer, rulesOf('heath-lane'), { today: TODAY, explain: true }).filter(
      (x) => x.ruleKey === 'heath-lane:absent-3-days',
    );
    expect(f).toMatchObject({ fired: true, action: 'home-visit' });
    expect(f!.explanation).toContain(
      'a reason each day, but absent longer than the 3 days a phone-call addresses',
    );
    // Four days of O (absent, no reason established): never said to have "a reason each day".
    const unknown = pupil(
      { '2025-11-12': 'O', '2025-11-13': 'O', '2025-11-17': 'O', '2025-11-18': 'O' },
      { to: TODAY },
    );
    const [u] = evaluatePupil(unknown, rulesOf('heath-lane'), { today: TODAY, explain: true }).filter(
      (x) => x.ruleKey === 'heath-lane:absent-3-days',
    );
    expect(u).toMatchObject({ fired: true, action: 'home-visit' });
    expect(u!.explanation).not.toContain('a reason each day');
    expect(u!.explanation).toContain('not every day has a reason from a parent/carer');
    const vulnerable = pupil({ '2025-11-18': 'I' }, { to: TODAY, flags: { cin: true } });
    expect(fired(vulnerable, ['heath-lane'], TODAY)).toEqual([
      'heath-lane:vulnerable-absent → home-visit by welfare-staff-and-vice-principal-for-attendance',
    ]);
  });

  it('Heath Lane: "a phone call home to address 3 days of absence" counts the days absent, not off-timetable (C2) or study-leave (S) days the run counts', () => {
    const heath = (p: ReturnType<typeof pupil>, today: string) =>
      evaluatePupil(p, rulesOf('heath-lane'), { today, explain: true }).find(
        (x) => x.ruleKey === 'heath-lane:absent-3-days',
      )!;
    // A part-time pupil all term (off timetable Wednesday to Friday every week since September,
    // present on every timetabled day), ill (I) on both timetabled days (Monday, Tuesday). Their
    // off-timetable sessions are no attendance concern: the statutory rate (C2 an authorised
    // absence) is under 40%, but they attended every session they were expected at.
    const partTimeMarks: Record<string, string> = {};
    for (const d of calendar.between('2025-09-03', '2025-11-21'))
      if (new Date(`${d}T12:00:00Z`).getUTCDay() >= 3) partTimeMarks[d] = 'C2';
    partTimeMarks['2025-11-17'] = 'I';
    partTimeMarks['2025-11-18'] = 'I';
    const partTime = pupil(partTimeMarks, { to: '2025-11-21' });
    for (const today of ['2025-11-19', '2025-11-20', '2025-11-21']) {
      const f = heath(partTime, today);
      expect(f, today).toMatchObject({ fired: true, action: 'phone-call' });
      expect(f.explanation).toContain('a parent/carer gave a reason for each day');
      expect(f.explanation).not.toContain('there is an attendance concern');
    }
    // Ill on Monday, study leave (S) from Tuesday: one day of absence, whatever the run's length.
    const studyLeave = pupil(
      { '2025-11-17': 'I', '2025-11-18': 'S', '2025-11-19': 'S', '2025-11-20': 'S', '2025-11-21': 'S' },
      { to: '2025-11-21' },
    );
    expect(heath(studyLeave, '2025-11-20')).toMatchObject({ fired: true, action: 'phone-call' });
    expect(heath(studyLeave, '2025-11-21')).toMatchObject({ fired: true, action: 'phone-call' });
    // Four days ill with an off-timetable day among them: four days of absence, the visit.
    const four = pupil(
      { '2025-11-17': 'I', '2025-11-18': 'I', '2025-11-19': 'C2', '2025-11-20': 'I', '2025-11-21': 'I' },
      { to: '2025-11-21' },
    );
    expect(heath(four, '2025-11-20')).toMatchObject({ fired: true, action: 'phone-call' });
    const f = heath(four, '2025-11-21');
    expect(f).toMatchObject({ fired: true, action: 'home-visit' });
    expect(f.explanation).toContain('absent longer than the 3 days a phone-call addresses');
  });

  it('a part-time timetable (C2) or study leave (S) is no session for the visit triggers: off-timetable days are not "not seen"', () => {
    // Present Monday and Tuesday, off timetable Wednesday to Friday, three weeks running.
    const marks: Record<string, string | [string, string]> = {};
    for (const d of calendar.between('2025-10-20', TODAY)) {
      const day = new Date(`${d}T12:00:00Z`).getUTCDay();
      if (day >= 3) marks[d] = 'C2';
    }
    expect(fired(pupil(marks, { to: TODAY }), ['heath-lane', 'lime-hills'], TODAY)).toEqual([]);
    const flagged = pupil({ '2025-11-18': 'C2', '2025-11-17': 'S' }, { to: TODAY, flags: { cin: true } });
    expect(fired(flagged, ['heath-lane'], TODAY)).toEqual([]);
    // Missing every timetabled morning (O) with the afternoons off timetable: not seen, and no reason.
    const missing: Record<string, [string, string]> = {};
    for (const d of calendar.between('2025-11-03', TODAY)) missing[d] = ['O', 'C2'];
    expect(
      fired(
        pupil(missing, { to: TODAY, flags: { welfareConcern: true } }),
        ['heath-lane', 'lime-hills'],
        TODAY,
      ),
    ).toEqual([
      'heath-lane:absent-3-days → home-visit by attendance-coordinator',
      'heath-lane:vulnerable-absent → home-visit by welfare-staff-and-vice-principal-for-attendance',
      'lime-hills:absent-week-no-response-concern → home-visit by safeguarding-team',
    ]);
  });

  it('Lime Hills "absent for a week": a part-time pupil missing their timetabled days is not seen on the days between either — a week, not two', () => {
    // Timetabled Monday and Tuesday (C2 Wednesday to Friday), coded N on each since Monday 3 November.
    const marks: Record<string, string> = {};
    for (const d of calendar.between('2025-11-03', '2025-12-09')) {
      const day = new Date(`${d}T12:00:00Z`).getUTCDay();
      marks[d] = day >= 3 ? 'C2' : 'N';
    }
    const monday10 = pupil(marks, { to: '2025-11-10', flags: { cpPlan: true } });
    expect(fired(monday10, ['lime-hills'], '2025-11-10')).toEqual([
      'lime-hills:absent-week-no-response-concern → home-visit by safeguarding-team',
    ]);
    // Not before the week: the Thursday after the first two missed days is 4 school days not seen;
    // the Friday, Monday to Friday not seen, is the week (the off-timetable days count once the
    // absence has begun, also after the last missed day).
    expect(
      fired(pupil(marks, { to: '2025-11-06', flags: { cpPlan: true } }), ['lime-hills'], '2025-11-06'),
    ).toEqual([]);
    expect(
      fired(pupil(marks, { to: '2025-11-07', flags: { cpPlan: true } }), ['lime-hills'], '2025-11-07'),
    ).toEqual(['lime-hills:absent-week-no-response-concern → home-visit by safeguarding-team']);
    // Arranged days alone never start a run: present on the timetabled days, nothing.
    const attending: Record<string, string> = {};
    for (const d of calendar.between('2025-11-03', TODAY))
      if (new Date(`${d}T12:00:00Z`).getUTCDay() >= 3) attending[d] = 'C2';
    expect(fired(pupil(attending, { to: TODAY, flags: { cpPlan: true } }), ['lime-hills'], TODAY)).toEqual(
      [],
    );
  });

  it('part-time pupils: off-timetable days after the absence began count while it lasts — Lime Hills on the Friday of a week not seen, Heath Lane on the third school day', () => {
    /** Off timetable (C2) every school day of November except the given ones. */
    const partTime = (own: Record<string, string>) => {
      const marks: Record<string, string> = {};
      for (const d of calendar.between('2025-11-03', '2025-11-28')) marks[d] = 'C2';
      for (const d of ['2025-11-03', '2025-11-04', '2025-11-10', '2025-11-11']) marks[d] = '/';
      return { ...marks, ...own };
    };
    // Lime Hills: timetabled Monday to Wednesday, N all three (no answer), off timetable Thursday and
    // Friday, a CP plan: not seen Monday 17 to Friday 21 — a week.
    const lime = partTime({ '2025-11-17': 'N', '2025-11-18': 'N', '2025-11-19': 'N' });
    const limeOn = (today: string) =>
      fired(pupil(lime, { from: '2025-11-03', to: today, flags: { cpPlan: true } }), ['lime-hills'], today);
    expect(limeOn('2025-11-20')).toEqual([]);
    expect(limeOn('2025-11-21')).toEqual([
      'lime-hills:absent-week-no-response-concern → home-visit by safeguarding-team',
    ]);
    const [week] = evaluatePupil(
      pupil(lime, { from: '2025-11-03', to: '2025-11-21', flags: { cpPlan: true } }),
      rulesOf('lime-hills'),
      {
        today: '2025-11-21',
      },
    );
    expect(week!.evidence).toMatchObject({
      from: '2025-11-17',
      to: '2025-11-21',
      count: 5,
      notExpected: ['2025-11-20', '2025-11-21'],
    });
    expect(week!.explanation).toContain("2 of them off the pupil's timetable (C2: 2025-11-20, 2025-11-21)");
    // Heath Lane: timetabled Monday and Tuesday, N both, off timetable Wednesday to Friday, back the
    // next Monday: not seen for 3 school days on Wednesday 19 — the visit then, not never.
    const heath = partTime({ '2025-11-17': 'N', '2025-11-18': 'N', '2025-11-24': '/', '2025-11-25': '/' });
    const heathOn = (today: string) =>
      fired(pupil(heath, { from: '2025-11-03', to: today }), ['heath-lane'], today).filter((f) =>
        f.startsWith('heath-lane:absent-3-days'),
      );
    expect(heathOn('2025-11-18')).toEqual([]);
    for (const today of ['2025-11-19', '2025-11-20', '2025-11-21'])
      expect(heathOn(today), today).toEqual([
        'heath-lane:absent-3-days → home-visit by attendance-coordinator',
      ]);
    // Back in school on Monday 24: the run ends at the first attended session.
    expect(heathOn('2025-11-24')).toEqual([]);
  });

  it('statutory returns hold to their words: "every session G, N or O" and "continuous unauthorised absence" end at any other session', () => {
    const rulesHit = (marks: Record<string, string>, to: string) =>
      fired(pupil(marks, { to }), ['statutory'], to).filter((f) =>
        /removal-from-roll|continuous-unauthorised/.test(f),
      );
    // N on Monday and Tuesday, an agreed part-time timetable (C2, authorised) Wednesday to Friday, for weeks.
    const partTime: Record<string, string> = {};
    for (const d of calendar.between('2025-09-22', '2025-12-09'))
      partTime[d] = new Date(`${d}T12:00:00Z`).getUTCDay() >= 3 ? 'C2' : 'N';
    expect(rulesHit(partTime, '2025-12-09')).toEqual([]);
    // N alternating with study leave (S), or with Y7 (an unavoidable cause): no removal review.
    for (const other of ['S', 'Y7']) {
      const alternating: Record<string, string> = {};
      calendar.between('2025-09-22', '2025-12-09').forEach((d, i) => {
        alternating[d] = i % 2 === 0 ? 'N' : other;
      });
      expect({
        other,
        hit: rulesHit(alternating, '2025-12-09').filter((f) => f.includes('removal')),
      }).toEqual({
        other,
        hit: [],
      });
    }
    // Continuous N across a whole-school closure (Y4) and the INSET day: both returns still raised.
    const continuous: Record<string, string> = {};
    for (const d of calendar.between('2025-11-03', '2025-12-05')) continuous[d] = 'N';
    continuous['2025-11-19'] = 'Y4';
    expect(rulesHit(continuous, '2025-12-05')).toEqual([
      'statutory:continuous-unauthorised-10 → la-notification by attendance-officer',
      'statutory:removal-from-roll-review-20 → removal-from-roll-review by headteacher',
    ]);
    // A snow day (Y2: the pupil could not travel) in ten days of N: the 10-day return is still prompted.
    const snow: Record<string, string> = {};
    for (const d of calendar.between('2025-11-03', '2025-11-18')) snow[d] = 'N';
    snow['2025-11-10'] = 'Y2';
    expect(rulesHit(snow, '2025-11-18')).toEqual([
      'statutory:continuous-unauthorised-10 → la-notification by attendance-officer',
    ]);
  });

  it('statutory returns count sessions, a school day of two possible sessions being two: nine days and a morning are not "10 school days", a Monday afternoon to the Tuesday-week morning is', () => {
    const RETURN = 'statutory:continuous-unauthorised-10';
    const REVIEW = 'statutory:removal-from-roll-review-20';
    const finding = (p: ReturnType<typeof pupil>, key: string, today: string) =>
      evaluatePupil(p, rulesOf('statutory'), { today, explain: true }).find((f) => f.ruleKey === key)!;
    const ten = calendar.between('2025-11-03', '2025-11-17'); // 10 school days (INSET Fri 14)
    expect(ten).toHaveLength(10);
    const o: Record<string, string | [string, string]> = Object.fromEntries(ten.map((d) => [d, 'O']));
    // The 10:30 sync of Monday 17: its morning O, its afternoon not yet taken — 19 sessions.
    const morning = finding(
      pupil({ ...o, '2025-11-17': ['O', ''] }, { to: '2025-11-17' }),
      RETURN,
      '2025-11-17',
    );
    expect(morning).toMatchObject({
      fired: false,
      explanation: 'absent 19 sessions (9.5 school days) in a row; the rule needs 10 school days',
    });
    // She came in after lunch: no return, then or later.
    for (const today of ['2025-11-17', '2025-11-18'])
      expect(finding(pupil({ ...o, '2025-11-17': ['O', '\\'] }, { to: today }), RETURN, today).fired).toBe(
        false,
      );
    // Absent that afternoon too: the 20th session, the return.
    expect(finding(pupil(o, { to: '2025-11-17' }), RETURN, '2025-11-17')).toMatchObject({
      fired: true,
      evidence: {
        from: '2025-11-03',
        fromSession: 'AM',
        to: '2025-11-17',
        toSession: 'PM',
        count: 10,
        sessionsCounted: 20,
      },
    });
    // Home at lunch on Monday 3, not seen again until Tuesday 18 after lunch: 1 + 9 × 2 + 1 = 20 sessions.
    const halves: Record<string, string | [string, string]> = {
      ...o,
      '2025-11-03': ['/', 'O'],
      '2025-11-18': ['O', '\\'],
    };
    const back = finding(pupil(halves, { to: '2025-11-18' }), RETURN, '2025-11-18');
    expect(back).toMatchObject({
      fired: true,
      evidence: {
        from: '2025-11-03',
        fromSession: 'PM',
        to: '2025-11-18',
        toSession: 'AM',
        sessionsCounted: 20,
        ended: true,
      },
    });
    expect(back.explanation).toBe(
      'absent 20 sessions (10 school days) in a row (2025-11-03 PM to 2025-11-18 AM); the pupil is back since, the return still due this year',
    );
    // Removal-from-roll review: 19 days and a morning of G (39 sessions) are not 20 school days.
    const twenty = calendar.between('2025-10-20', '2025-11-24'); // half term and the INSET day between
    expect(twenty).toHaveLength(20);
    const g: Record<string, string | [string, string]> = Object.fromEntries(twenty.map((d) => [d, 'G']));
    expect(
      finding(pupil({ ...g, '2025-11-24': ['G', ''] }, { to: '2025-11-24' }), REVIEW, '2025-11-24'),
    ).toMatchObject({
      fired: false,
      explanation: 'absent 39 sessions (19.5 school days) in a row; the rule needs 20 school days',
    });
    expect(finding(pupil(g, { to: '2025-11-24' }), REVIEW, '2025-11-24')).toMatchObject({
      fired: true,
      evidence: { count: 20, sessionsCounted: 40 },
    });
  });

  it('Heath Lane: a persistently absent pupil ill 3 days with a reason each day still gets a visit (an attendance concern); U is seen', () => {
    const marks: Record<string, string> = { '2025-11-13': 'I', '2025-11-17': 'I', '2025-11-18': 'I' };
    calendar.between('2025-09-03', '2025-11-10').forEach((d, i) => {
      if (i % 6 === 0) marks[d] = 'N';
    });
    expect(fired(pupil(marks, { to: TODAY }), ['heath-lane'], TODAY)).toEqual([
      'heath-lane:absent-3-days → home-visit by attendance-coordinator',
    ]);
    const late = pupil({ '2025-11-13': 'U', '2025-11-17': 'U', '2025-11-18': 'U' }, { to: TODAY });
    expect(fired(late, ['heath-lane'], TODAY)).toEqual([]);
  });

  it('a pack may not count U as absent for a visit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'packs-'));
    writeFileSync(
      join(dir, 'late.yaml'),
      `id: late
title: Late
source: test
rules:
  - id: late-3
    kind: consecutive-absence
    title: Late
    days: 3
    codes: [N, U]
    action: home-visit
    role: dsl
    source: test
`,
    );
    expect(() => loadPolicyPacks(dir)).toThrow(
      expect.objectContaining({
        details: [expect.stringMatching(/U \(arrived after the register closed\) means the child was seen/)],
      }),
    );
  });

  it('Lime Hills: a week unanswered with a welfare concern → safeguarding team visit; not without the concern', () => {
    const week = {
      '2025-11-10': 'N',
      '2025-11-11': 'N',
      '2025-11-12': 'N',
      '2025-11-13': 'N',
      '2025-11-17': 'N',
      '2025-11-18': 'N',
    };
    expect(fired(pupil(week, { to: TODAY, flags: { welfareConcern: true } }), ['lime-hills'], TODAY)).toEqual(
      ['lime-hills:absent-week-no-response-concern → home-visit by safeguarding-team'],
    );
    expect(fired(pupil(week, { to: TODAY }), ['lime-hills'], TODAY)).toEqual([]);
  });

  it("King's Gomer sets no absence trigger: its persistent-absence / CME clause exempts visits from notice", () => {
    const marks: Record<string, string> = {};
    calendar.between('2025-09-03', TODAY).forEach((d, i) => {
      if (i % 6 === 0) marks[d] = 'I';
    });
    const longGone: Record<string, string> = {};
    for (const d of calendar.between('2025-10-13', TODAY)) longGone[d] = 'O';
    // (The school runs the statutory pack too — its exemptions rest on those triggers.)
    const own = (k: string) => k.startsWith('kings-gomer:');
    expect(fired(pupil(marks, { to: TODAY }), ['statutory', 'kings-gomer'], TODAY).filter(own)).toEqual([]);
    expect(fired(pupil(longGone, { to: TODAY }), ['statutory', 'kings-gomer'], TODAY).filter(own)).toEqual(
      [],
    );
    expect(packs.get('kings-gomer')!.rules).toEqual([]);
  });

  it("King's Gomer: a pupil who leaves the roll raises nothing — the policy has no trigger of its own for it (policies.md)", () => {
    const p = pupil({}, { to: '2025-11-14' });
    p.leaving = { on: '2025-11-14', destination: null };
    expect(fired(p, ['statutory', 'kings-gomer'], TODAY).filter((k) => k.startsWith('kings-gomer:'))).toEqual(
      [],
    );
    expect(
      fired(p, ['statutory', 'heath-lane', 'lime-hills', 'kings-gomer', 'thames-view', 'hampton'], TODAY),
    ).toEqual([]);
  });

  it("Lime Hills has no year-on-year holiday rule (that is Heath Lane's clause, not Lime Hills')", () => {
    const marks = { '2024-11-13': 'N', '2024-11-14': 'N', '2025-11-12': 'N', '2025-11-13': 'N' };
    const p = pupil(marks, { from: '2024-09-04', to: TODAY });
    expect(fired(p, ['heath-lane'], TODAY)).toContain(
      'heath-lane:holiday-pattern → home-visit by attendance-coordinator',
    );
    expect(fired(p, ['lime-hills'], TODAY)).toEqual([]);
    expect(packs.get('lime-hills')!.rules.map((r) => r.kind)).not.toContain('repeated-pattern');
  });

  it('Thames View: below 90% over three months → the headteacher notifies the authorities; never on less than three months of register', () => {
    // A calendar that knows the summer term before this autumn's.
    const year = new SchoolCalendar({
      terms: [
        { start: '2025-06-02', end: '2025-07-22' },
        { start: '2025-09-03', end: '2025-10-24' },
        { start: '2025-11-03', end: '2025-12-19' },
      ],
      closures: [],
    });
    const register = (marks: Record<string, string>, from: string, to: string) => {
      const p = new PupilAttendance('p1', {}, year);
      for (const d of year.between(from, to)) {
        p.set(d, 'AM', marks[d] ?? '/');
        p.set(d, 'PM', marks[d] ?? '\\');
      }
      return p;
    };
    const marks: Record<string, string> = {};
    year.between('2025-06-02', TODAY).forEach((d, i) => {
      if (i % 8 === 0) marks[d] = 'G';
    });
    // Three months back from 18 November is 18 August, in the holiday: the window's register is
    // this term's, which the pupil has had all of.
    expect(fired(register(marks, '2025-09-03', TODAY), ['thames-view'], TODAY)).toEqual([
      'thames-view:below-90-three-months → la-notification by headteacher',
    ]);
    // A Year 3 pupil new on 3 September, absent 3 of their first 10 days (70%), on 16 September: the
    // window reaches back to June, before their register — not judged on two weeks.
    const fortnight = register(
      { '2025-09-04': 'N', '2025-09-05': 'N', '2025-09-08': 'N' },
      '2025-09-03',
      '2025-09-16',
    );
    expect(fired(fortnight, ['thames-view'], '2025-09-16')).toEqual([]);
    // …nor on six weeks, on 16 October, while the window (from 17 July) still reaches the summer term.
    const sixWeeks = register(
      { '2025-09-04': 'N', '2025-09-05': 'N', '2025-09-08': 'N', '2025-09-09': 'N' },
      '2025-09-03',
      '2025-10-16',
    );
    expect(fired(sixWeeks, ['thames-view'], '2025-10-16')).toEqual([]);
    // A pupil on roll since June with the same fortnight is judged on the whole window.
    const since = register(
      { ...marks, '2025-09-04': 'N', '2025-09-05': 'N', '2025-09-08': 'N' },
      '2025-06-02',
      '2025-09-16',
    );
    expect(fired(since, ['thames-view'], '2025-09-16')).toEqual([
      'thames-view:below-90-three-months → la-notification by headteacher',
    ]);
    // A calendar that does not know the summer term cannot say the window was covered: not judged.
    const marksNow: Record<string, string> = { '2025-09-04': 'N', '2025-09-05': 'N', '2025-09-08': 'N' };
    expect(fired(pupil(marksNow, { to: '2025-09-16' }), ['thames-view'], '2025-09-16')).toEqual([]);
  });

  it("a pupil who left for a known school is that school's now: no visit for their last days here; one gone where nobody knows still is", () => {
    const p = pupil({ '2025-11-12': 'N', '2025-11-13': 'N', '2025-11-17': 'N' }, { to: '2025-11-17' });
    expect(fired(p, ['heath-lane'], '2025-11-17')).toEqual([
      'heath-lane:absent-3-days → home-visit by attendance-coordinator',
    ]);
    p.leaving = { on: '2025-11-17', destination: 'Other Academy' };
    expect(fired(p, ['heath-lane'], '2025-12-05')).toEqual([]);
    // The law's duties for what happened while on this roll still stand (the N never replaced).
    expect(fired(p, ['statutory', 'heath-lane'], '2025-12-05')).toEqual([
      'statutory:n-unresolved → phone-call by attendance-officer',
    ]);
    p.leaving = { on: '2025-11-17', destination: null };
    expect(fired(p, ['heath-lane'], '2025-12-05')).toEqual([
      'heath-lane:absent-3-days → home-visit by attendance-coordinator',
    ]);
    // Leaving on a later day changes nothing before it.
    p.leaving = { on: '2025-12-19', destination: 'Other Academy' };
    expect(fired(p, ['heath-lane'], '2025-11-17')).toEqual([
      'heath-lane:absent-3-days → home-visit by attendance-coordinator',
    ]);
  });

  it('Hampton sets no attendance trigger', () => {
    const p = pupil({ '2025-11-13': 'N', '2025-11-17': 'N', '2025-11-18': 'N' }, { to: TODAY });
    expect(fired(p, ['hampton'], TODAY)).toEqual([]);
  });

  it('statutory: N unresolved, 10 days unauthorised, illness 15 days, 20 days G/N/O review', () => {
    const marks: Record<string, string> = {};
    const days = calendar.between('2025-10-13', TODAY); // 10 days before half term + 11 after
    for (const d of days) marks[d] = 'N';
    expect(days).toHaveLength(21);
    expect(fired(pupil(marks, { to: TODAY }), ['statutory'], TODAY)).toEqual([
      'statutory:persistent-absence → attendance-meeting by attendance-officer',
      'statutory:n-unresolved → phone-call by attendance-officer',
      'statutory:continuous-unauthorised-10 → la-notification by attendance-officer',
      'statutory:removal-from-roll-review-20 → removal-from-roll-review by headteacher',
    ]);
    const ill: Record<string, string> = {};
    for (const d of calendar.between('2025-10-24', TODAY)) ill[d] = 'I'; // 1 + 11 days
    for (const d of calendar.between('2025-09-08', '2025-09-10')) ill[d] = 'I'; // + 3 days earlier
    expect(fired(pupil(ill, { to: TODAY }), ['statutory'], TODAY)).toEqual([
      'statutory:persistent-absence → attendance-meeting by attendance-officer',
      'statutory:illness-15 → la-notification by attendance-officer',
    ]);
  });

  it('a whole-school closure the register marks (Y4 snow day, #) is not a school day: it neither counts nor ends a run', () => {
    // Heath Lane: Mon 17, Tue 18 N; Wed 19 closed (not in the config calendar); Thu 20 N.
    for (const closed of ['Y4', '#']) {
      const p = pupil(
        { '2025-11-17': 'N', '2025-11-18': 'N', '2025-11-19': closed, '2025-11-20': 'N' },
        { to: '2025-11-20' },
      );
      expect(fired(p, ['heath-lane'], '2025-11-20')).toEqual([
        'heath-lane:absent-3-days → home-visit by attendance-coordinator',
      ]);
    }
    // Statutory: O every school day 3–18 Nov (INSET 14th), the school closed Mon 10 (Y4): 10 school days.
    const unauthorised: Record<string, string> = {};
    for (const d of calendar.between('2025-11-03', TODAY)) unauthorised[d] = 'O';
    unauthorised['2025-11-10'] = 'Y4';
    expect(fired(pupil(unauthorised, { to: TODAY }), ['statutory'], TODAY)).toContain(
      'statutory:continuous-unauthorised-10 → la-notification by attendance-officer',
    );
  });

  it('Lime Hills: absent a week with a concern, contact unanswered now, though a parent rang on the first days → visit', () => {
    // Mon 10, Tue 11 I (a parent rang); Wed 12 on N (no answer); Fri 14 INSET: 6 school days absent.
    const rang = {
      '2025-11-10': 'I',
      '2025-11-11': 'I',
      '2025-11-12': 'N',
      '2025-11-13': 'N',
      '2025-11-17': 'N',
      '2025-11-18': 'N',
    };
    expect(fired(pupil(rang, { to: TODAY, flags: { cpPlan: true } }), ['lime-hills'], TODAY)).toEqual([
      'lime-hills:absent-week-no-response-concern → home-visit by safeguarding-team',
    ]);
    // A reason on the latest day: contact has elicited a response.
    const answered = { ...rang, '2025-11-18': 'I' };
    expect(fired(pupil(answered, { to: TODAY, flags: { cpPlan: true } }), ['lime-hills'], TODAY)).toEqual([]);
    // No concern: no visit under this clause.
    expect(fired(pupil(rang, { to: TODAY }), ['lime-hills'], TODAY)).toEqual([]);
  });

  it("Heath Lane's holiday pattern counts illness and no-reason absence now against holiday, illness and no-reason absence a year earlier, not the reasons the school authorised or arranged", () => {
    const same = (code: string, now = code) =>
      pupil(
        { '2024-11-13': code, '2024-11-14': code, '2025-11-12': now, '2025-11-13': now },
        { from: '2024-09-04', to: TODAY },
      );
    // A holiday this year is recorded as one (G): nothing is "contrary to reasons given".
    expect(fired(same('G'), ['heath-lane'], TODAY)).not.toContain(
      'heath-lane:holiday-pattern → home-visit by attendance-coordinator',
    );
    // Ill in the week of last year's holiday: the pattern.
    expect(fired(same('G', 'I'), ['heath-lane'], TODAY)).toContain(
      'heath-lane:holiday-pattern → home-visit by attendance-coordinator',
    );
    for (const code of ['R', 'M', 'E', 'C2', 'S', 'C', 'C1', 'J1', 'T'])
      expect(fired(same(code), ['heath-lane'], TODAY), code).not.toContain(
        'heath-lane:holiday-pattern → home-visit by attendance-coordinator',
      );
    for (const code of ['I', 'O'])
      expect(fired(same(code), ['heath-lane'], TODAY), code).toContain(
        'heath-lane:holiday-pattern → home-visit by attendance-coordinator',
      );
  });

  it('statutory illness: the return is raised once the 15th day is recorded, and stays raised when the pupil is back', () => {
    const ill: Record<string, string> = {};
    for (const d of calendar.between('2025-09-03', '2025-09-23')) ill[d] = 'I'; // 15 school days
    const illness = (to: string) =>
      fired(pupil(ill, { to }), ['statutory'], to).filter((f) => f.startsWith('statutory:illness-15'));
    expect(illness('2025-09-23')).toEqual(['statutory:illness-15 → la-notification by attendance-officer']);
    expect(illness('2025-11-13')).toEqual(['statutory:illness-15 → la-notification by attendance-officer']);
  });

  it('a school may override a number, and a bad override is located', () => {
    const school = configWith({
      school: '    triggers: { overrides: { "heath-lane:absent-3-days": { days: 4 } } }',
    }).schools[0]!;
    const r = rulesForSchool({ ...school, policies: ['heath-lane'] }, packs);
    expect(r.rules.find((x) => x.rule.id === 'absent-3-days')!.rule).toMatchObject({ days: 4 });
    const bad = configWith({
      school: '    triggers: { overrides: { "heath-lane:absent-3-days": { days: -1 } } }',
    }).schools[0]!;
    expect(rulesForSchool({ ...bad, policies: ['heath-lane'] }, packs).problems).toEqual([
      {
        path: ['triggers', 'overrides', 'heath-lane:absent-3-days', 'days'],
        message: 'Too small: expected number to be >=1',
      },
    ]);
  });

  it("the law's duties are every school's: a school without the statutory pack, or an override that weakens one, is refused", () => {
    const school = configWith({}).schools[0]!;
    expect(schoolPackProblems({ ...school, policies: ['heath-lane'] }, packs)).toEqual([
      {
        path: ['policies'],
        message:
          'every school runs the "statutory" pack (the law\'s attendance duties) beside its own: add it, e.g. policies: [statutory, heath-lane]',
      },
    ]);
    expect(schoolPackProblems({ ...school, policies: ['statutory', 'heath-lane'] }, packs)).toEqual([]);
    const withOverrides = (overrides: string) =>
      schoolPackProblems(
        {
          ...configWith({ school: `    triggers: { overrides: { ${overrides} } }` }).schools[0]!,
          policies: ['statutory', 'heath-lane'],
        },
        packs,
      );
    // The 10-day LA return made a 20-day phone call: the law's numbers and action, not the school's.
    expect(
      withOverrides('"statutory:continuous-unauthorised-10": { days: 20, action: phone-call }').map((p) =>
        p.path.join('.'),
      ),
    ).toEqual([
      'triggers.overrides.statutory:continuous-unauthorised-10.days',
      'triggers.overrides.statutory:continuous-unauthorised-10.action',
    ]);
    // What the pack labels the school's setting, and who acts, may change.
    expect(
      withOverrides(
        '"statutory:persistent-absence": { minSessions: 40, action: phone-call }, "statutory:n-unresolved": { role: attendance-coordinator }',
      ),
    ).toEqual([]);
    // In a school's own pack: numbers and who acts, never the rule's action or switches.
    expect(withOverrides('"heath-lane:absent-3-days": { action: phone-call }')).toEqual([
      {
        path: ['triggers', 'overrides', 'heath-lane:absent-3-days', 'action'],
        message:
          "a school changes numbers (and role: who acts), never the rule's kind, action or switches: action is the written policy's, changed in its pack",
      },
    ]);
    expect(withOverrides('"heath-lane:absent-3-days": { days: 4, role: dsl }')).toEqual([]);
  });

  it("King's exemptions from telling the family rest on statutory triggers: without the statutory pack the school is refused at load", () => {
    const school = configWith({}).schools[0]!;
    expect(rulesForSchool({ ...school, policies: ['statutory', 'kings-gomer'] }, packs).problems).toEqual([]);
    expect(rulesForSchool({ ...school, policies: ['kings-gomer'] }, packs).problems).toEqual([
      {
        path: ['policies'],
        message: expect.stringMatching(
          /^the family-notice exemption "persistent-absence" rests on the trigger "statutory:persistent-absence", which is not in this school's packs/,
        ),
      },
      expect.objectContaining({ path: ['policies'] }),
      expect.objectContaining({ path: ['policies'] }),
      expect.objectContaining({ path: ['policies'] }),
    ]);
  });

  it("an override of King's Gomer's former CME check is refused at load, not silently ignored", () => {
    const school = configWith({
      school: '    triggers: { overrides: { "kings-gomer:left-roll-cme-check": { withinDays: 14 } } }',
    }).schools[0]!;
    expect(rulesForSchool({ ...school, policies: ['statutory', 'kings-gomer'] }, packs).problems).toEqual([
      {
        path: ['triggers', 'overrides', 'kings-gomer:left-roll-cme-check'],
        message: expect.stringMatching(/^no rule "kings-gomer:left-roll-cme-check" in this school's packs/),
      },
    ]);
  });
});

describe('statutory duties across the summer holiday', () => {
  // The summer term of 2024/25, then the autumn term of 2025/26: no school day in between.
  const summer = new SchoolCalendar({
    terms: [
      { start: '2025-06-02', end: '2025-07-22' },
      { start: '2025-09-03', end: '2025-10-24' },
    ],
    closures: [],
  });
  /** Present every school day from 2 June to `to` unless `marks` says otherwise. */
  const across = (marks: Record<string, string | [string, string]>, to: string) => {
    const p = new PupilAttendance('p1', {}, summer);
    for (const d of summer.between('2025-06-02', to)) {
      const m = marks[d];
      const [am, pm] = m === undefined ? ['/', '\\'] : typeof m === 'string' ? [m, m] : m;
      p.set(d, 'AM', am);
      p.set(d, 'PM', pm);
    }
    return p;
  };

  it('an N from the last day of the summer term still N five school days into September is due now', () => {
    const p = across({ '2025-07-22': ['N', '\\'] }, '2025-09-12');
    expect(fired(p, ['statutory'], '2025-09-12')).toContain(
      'statutory:n-unresolved → phone-call by attendance-officer',
    );
    // One whose five days ran out in July was due last year: it opens nothing this year.
    const old = across({ '2025-07-10': ['N', '\\'] }, '2025-09-12');
    expect(fired(old, ['statutory'], '2025-09-12')).not.toContain(
      'statutory:n-unresolved → phone-call by attendance-officer',
    );
  });

  it('ten school days of N from July into September: the LA return stays raised once the pupil is back', () => {
    const marks: Record<string, string> = {};
    for (const d of summer.between('2025-07-15', '2025-09-08')) marks[d] = 'N';
    for (const today of ['2025-09-08', '2025-09-09', '2025-09-19'])
      expect(fired(across(marks, today), ['statutory'], today)).toContain(
        'statutory:continuous-unauthorised-10 → la-notification by attendance-officer',
      );
    // A run that ended in July is last year's return: not raised again in September.
    const july: Record<string, string> = {};
    for (const d of summer.between('2025-07-07', '2025-07-18')) july[d] = 'N';
    expect(fired(across(july, '2025-09-09'), ['statutory'], '2025-09-09')).not.toContain(
      'statutory:continuous-unauthorised-10 → la-notification by attendance-officer',
    );
  });
});

describe('a leaver with a known destination and the statutory returns', () => {
  it('10 school days of O while on roll, then left for Other Academy: the LA return stays raised', () => {
    const marks: Record<string, string> = {};
    for (const d of calendar.between('2025-11-03', '2025-11-18')) marks[d] = 'O'; // 10 school days (INSET 14th)
    const p = pupil(marks, { to: '2025-11-20' }); // back on 19th and 20th
    const RETURN = 'statutory:continuous-unauthorised-10 → la-notification by attendance-officer';
    expect(fired(p, ['statutory'], '2025-11-20')).toContain(RETURN);
    expect(fired(p, ['statutory'], '2025-11-24')).toContain(RETURN); // control: still raised, not leaving
    // Leaves on Friday 21st for a known school; the nightly of Monday 24th.
    p.leaving = { on: '2025-11-21', destination: 'Other Academy' };
    expect(fired(p, ['statutory'], '2025-11-24')).toContain(RETURN);
  });
});

describe('an ended run across terms the calendar does not know', () => {
  it('5 days O in December 2024 + 5 days O in September 2025 (nine months apart) are no 10-day continuous absence', () => {
    const marks: Record<string, string> = {};
    for (const d of calendar.between('2024-12-16', '2024-12-20')) marks[d] = 'O';
    for (const d of calendar.between('2025-09-03', '2025-09-09')) marks[d] = 'O';
    const p = pupil(marks, { from: '2024-12-16', to: '2025-09-19' }); // present since 10 September
    const [f] = evaluatePupil(p, rulesOf('statutory'), { today: '2025-09-19', explain: true }).filter(
      (x) => x.ruleKey === 'statutory:continuous-unauthorised-10',
    );
    expect(f!.fired, f!.explanation).toBe(false);
  });
});

const DEC_5 = '2025-12-05'; // a three-month window from 2025-09-06

function joinedInNovember(withZ: boolean) {
  const marks: Record<string, string | [string, string]> = {};
  // Not on roll until Monday 3 November: Z on every session before (or no mark at all).
  const p = pupil(
    {
      ...marks,
      '2025-11-05': 'O',
      '2025-11-12': 'O',
      '2025-11-19': 'O',
      '2025-11-26': 'O',
      '2025-12-03': 'O',
    },
    { from: '2025-11-03', to: DEC_5 },
  );
  if (withZ)
    for (const d of ['2025-09-03', '2025-09-04', '2025-09-05', '2025-09-08', '2025-09-09', '2025-09-10']) {
      p.set(d, 'AM', 'Z');
      p.set(d, 'PM', 'Z');
    }
  return p;
}

describe('wholeWindow and a register that says "not on roll"', () => {
  it('a pupil on roll since 3 November is not judged over three months, with or without Z before', () => {
    const judged = (p: ReturnType<typeof pupil>) =>
      evaluatePupil(p, rulesOf('thames-view'), { today: DEC_5, explain: true }).find(
        (f) => f.ruleKey === 'thames-view:below-90-three-months',
      )!;
    const noMarks = judged(joinedInNovember(false));
    expect(noMarks.fired).toBe(false); // as the commit intends: "the pupil's register begins later"
    const withZ = judged(joinedInNovember(true));
    expect(withZ.fired, withZ.explanation).toBe(false);
  });
});

describe('Thames View 4.4: whether the register covers three months is read from the register itself', () => {
  // A calendar that knows the summer term before this autumn's.
  const year = new SchoolCalendar({
    terms: [
      { start: '2025-06-02', end: '2025-07-22' },
      { start: '2025-09-03', end: '2025-10-24' },
      { start: '2025-11-03', end: '2025-12-19' },
    ],
    closures: [],
  });
  const register = (mark: (d: string) => [string, string], from: string, to: string) => {
    const p = new PupilAttendance('p1', {}, year);
    for (const d of year.between(from, to)) {
      const [am, pm] = mark(d);
      p.set(d, 'AM', am);
      p.set(d, 'PM', pm);
    }
    return p;
  };
  const rule44 = (p: PupilAttendance, today: string) =>
    evaluatePupil(p, rulesOf('thames-view'), { today, explain: true }).find(
      (f) => f.ruleKey === 'thames-view:below-90-three-months',
    )!;
  const present: [string, string] = ['/', '\\'];

  it("a pupil on roll since June, on a part-time timetable (C2) the window's first week and absent every session since, is judged (0%)", () => {
    // 5 December: the window runs from 6 September, its first school week 8–12 September.
    const p = register(
      (d) =>
        d >= '2025-09-08' && d <= '2025-09-12' ? ['C2', 'C2'] : d > '2025-09-12' ? ['N', 'N'] : present,
      '2025-06-02',
      '2025-12-05',
    );
    const f = rule44(p, '2025-12-05');
    expect(f.fired, f.explanation).toBe(true);
    expect(f.evidence).toMatchObject({ from: '2025-09-06', to: '2025-12-05', attended: 0 });
  });

  it('a pupil dual registered (D) elsewhere 3 September – 3 October, at 50% since, is judged every day from 8 October to the end of term', () => {
    const mark = (d: string): [string, string] =>
      d >= '2025-09-03' && d < '2025-10-06' ? ['D', 'D'] : d >= '2025-10-06' ? ['/', 'O'] : present;
    const notRaised = year
      .between('2025-10-08', '2025-12-19')
      .filter((d) => !rule44(register(mark, '2025-06-02', d), d).fired);
    expect(notRaised).toEqual([]);
  });

  it('a pupil new on 3 September is not judged while the window reaches back into July, whatever the register holds since', () => {
    // Absent 4 whole days of their first 30 (86.7%).
    const absent = new Set(['2025-09-04', '2025-09-05', '2025-09-08', '2025-09-09']);
    const p = register((d) => (absent.has(d) ? ['N', 'N'] : present), '2025-09-03', '2025-10-16');
    for (const today of ['2025-10-10', '2025-10-16']) {
      const f = rule44(p, today);
      expect(f.fired, f.explanation).toBe(false);
      expect(f.explanation).toContain("the pupil's register begins later (on roll from 2025-09-03)");
      expect(f.evidence.from).toBe('2025-09-03');
    }
    // With Z (not yet on roll) on the July days instead of no mark, the same.
    const withZ = register(
      (d) => (d < '2025-09-03' ? ['Z', 'Z'] : absent.has(d) ? ['N', 'N'] : present),
      '2025-06-02',
      '2025-10-16',
    );
    expect(rule44(withZ, '2025-10-16').fired).toBe(false);
  });

  it('once the window opens after the summer holiday the pupil new on 3 September has had all of it: judged, the evidence from their first day', () => {
    // 24 October: the window runs from 25 July, in the holiday; its first school day is 3 September.
    const absent = new Set(year.between('2025-09-03', '2025-09-16'));
    const p = register((d) => (absent.has(d) ? ['N', 'N'] : present), '2025-09-03', '2025-10-24');
    const f = rule44(p, '2025-10-24');
    expect(f.fired, f.explanation).toBe(true);
    expect(f.evidence.from).toBe('2025-09-03');
  });

  it("a school closure (#) on the window's first school days is passed over: a pupil on roll since is judged, one who joined after is not", () => {
    // 10 December: the window runs from 11 September; the register has the school closed 11–12 September.
    const closed = (d: string) => d === '2025-09-11' || d === '2025-09-12';
    const mark = (d: string): [string, string] =>
      closed(d) ? ['#', '#'] : d >= '2025-10-01' ? ['/', 'O'] : present;
    const onRollSinceClosure = register(mark, '2025-09-11', '2025-12-10');
    const f = rule44(onRollSinceClosure, '2025-12-10');
    expect(f.fired, f.explanation).toBe(true);
    expect(f.evidence.from).toBe('2025-09-15');
    // Joined on Tuesday 16 September, the day after the window's first school day the school met.
    const joinedAfter = register(mark, '2025-09-16', '2025-12-10');
    expect(rule44(joinedAfter, '2025-12-10').fired).toBe(false);
  });

  it('a pupil who left the roll before the window and is back since is not judged on what is there', () => {
    // On roll in June and July, Z (not on roll) through September, back on 6 October at 50%.
    const p = register((d) => (d < '2025-09-03' ? present : ['/', 'O']), '2025-06-02', '2025-12-05');
    for (const d of year.between('2025-09-03', '2025-10-03')) {
      p.set(d, 'AM', 'Z');
      p.set(d, 'PM', 'Z');
    }
    const f = rule44(p, '2025-12-05');
    expect(f.fired, f.explanation).toBe(false);
    expect(f.explanation).toContain('not on roll in its first school week');
  });
});
