import { describe, expect, it } from 'vitest';
import { evaluatePupil } from '../../../src/domain/triggers/evaluate.ts';
import { calendar, pupil, rules } from './helpers.ts';

type Marks = Record<string, string | [string, string]>;
const one = (p: ReturnType<typeof pupil>, r: Record<string, unknown>, today: string) =>
  evaluatePupil(p, rules(r), { today, explain: true })[0]!;

describe('school calendar', () => {
  it('skips weekends, half term and INSET days', () => {
    expect(calendar.isSchoolDay('2025-11-14')).toBe(false); // INSET
    expect(calendar.isSchoolDay('2025-10-29')).toBe(false); // half term
    expect(calendar.isSchoolDay('2025-11-15')).toBe(false); // Saturday
    expect(calendar.between('2025-11-12', '2025-11-18')).toEqual([
      '2025-11-12',
      '2025-11-13',
      '2025-11-17',
      '2025-11-18',
    ]);
    expect(calendar.lastSchoolDays('2025-11-16', 2)).toEqual(['2025-11-12', '2025-11-13']);
  });
});

describe('consecutive-absence', () => {
  const rule = { kind: 'consecutive-absence', days: 3 };

  it('counts 3 school days across a weekend and an INSET day as 3, not 6', () => {
    const p = pupil({ '2025-11-13': 'N', '2025-11-17': 'N', '2025-11-18': 'N' }, { to: '2025-11-18' });
    const f = one(p, rule, '2025-11-18');
    expect(f.fired).toBe(true);
    expect(f.evidence).toMatchObject({ from: '2025-11-13', to: '2025-11-18', count: 3 });
    expect(f.evidence.days!.map((d) => d.date)).toEqual(['2025-11-13', '2025-11-17', '2025-11-18']);
  });

  it('does not fire on 2 days, and a half day present breaks the run', () => {
    expect(
      one(pupil({ '2025-11-17': 'N', '2025-11-18': 'N' }, { to: '2025-11-18' }), rule, '2025-11-18'),
    ).toMatchObject({
      fired: false,
      explanation: 'absent 2 school days in a row; the rule needs 3',
    });
    const halfDay = pupil(
      { '2025-11-12': 'I', '2025-11-13': ['/', 'I'], '2025-11-17': 'I', '2025-11-18': 'I' },
      { to: '2025-11-18' },
    );
    expect(one(halfDay, rule, '2025-11-18').fired).toBe(false);
  });

  it('says "1 school day", not "1 school days", when a one-day rule fires', () => {
    const f = one(pupil({ '2025-11-18': 'N' }, { to: '2025-11-18' }), { ...rule, days: 1 }, '2025-11-18');
    expect(f).toMatchObject({ fired: true });
    expect(f.explanation).toBe('absent 1 school day in a row (2025-11-18 to 2025-11-18)');
    const three = one(
      pupil({ '2025-11-13': 'N', '2025-11-17': 'N', '2025-11-18': 'N' }, { to: '2025-11-18' }),
      rule,
      '2025-11-18',
    );
    expect(three.explanation).toBe('absent 3 school days in a row (2025-11-13 to 2025-11-18)');
  });

  it('counts a day whose PM is not yet marked by its AM', () => {
    const p = pupil({ '2025-11-13': 'N', '2025-11-17': 'N', '2025-11-18': ['N', ''] }, { to: '2025-11-18' });
    expect(one(p, rule, '2025-11-18').fired).toBe(true);
  });

  it('counted in sessions (countSessions): N school days of two possible sessions are 2N sessions in a row, across days; a session with no mark neither counts nor ends the run', () => {
    const r = {
      kind: 'consecutive-absence',
      days: 3,
      codes: ['G', 'N', 'O', 'U'],
      sessionsNotExpected: 'end-on-authorised',
      countSessions: true,
    };
    // Thu 13, Mon 17 O; Tue 18 morning O at the 10:30 sync, its afternoon not yet taken: 5 sessions.
    const morning: Marks = { '2025-11-13': 'O', '2025-11-17': 'O', '2025-11-18': ['O', ''] };
    expect(one(pupil({ ...morning }, { to: '2025-11-18' }), r, '2025-11-18')).toMatchObject({
      fired: false,
      evidence: { count: 2.5, sessionsCounted: 5 },
      explanation: 'absent 5 sessions (2.5 school days) in a row; the rule needs 3 school days',
    });
    // In for the afternoon: never 3 school days. Absent that afternoon too: the sixth session.
    const back = pupil({ ...morning, '2025-11-18': ['O', '\\'] }, { to: '2025-11-18' });
    expect(one(back, r, '2025-11-18').fired).toBe(false);
    expect(
      one(pupil({ ...morning, '2025-11-18': 'O' }, { to: '2025-11-18' }), r, '2025-11-18'),
    ).toMatchObject({
      fired: true,
      evidence: { from: '2025-11-13', fromSession: 'AM', to: '2025-11-18', toSession: 'PM', count: 3 },
      explanation: 'absent 6 sessions (3 school days) in a row (2025-11-13 AM to 2025-11-18 PM)',
    });
    // Home at lunch on Wed 12, back on Tue 18 afternoon: 1 + 2 + 2 + 1 sessions are 3 school days.
    const halves: Marks = {
      '2025-11-12': ['/', 'O'],
      '2025-11-13': 'O',
      '2025-11-17': 'O',
      '2025-11-18': ['O', ''],
    };
    expect(one(pupil({ ...halves }, { to: '2025-11-18' }), r, '2025-11-18')).toMatchObject({
      fired: true,
      evidence: {
        from: '2025-11-12',
        fromSession: 'PM',
        to: '2025-11-18',
        toSession: 'AM',
        sessionsCounted: 6,
      },
      explanation: 'absent 6 sessions (3 school days) in a row (2025-11-12 PM to 2025-11-18 AM)',
    });
    // The run, ended by the afternoon present, still counts for a return made after (`afterReturn`).
    const ended = pupil({ ...halves, '2025-11-18': ['O', '\\'] }, { to: '2025-11-18' });
    expect(one(ended, { ...r, afterReturn: true }, '2025-11-18')).toMatchObject({
      fired: true,
      evidence: { from: '2025-11-12', fromSession: 'PM', to: '2025-11-18', toSession: 'AM', ended: true },
    });
    // A past session with no mark (Thu 13's afternoon, never exported) neither counts nor ends it:
    // 2 + 1 + 2 sessions, then the sixth on Tue 18 morning.
    const gap: Marks = { '2025-11-12': 'O', '2025-11-13': ['O', ''], '2025-11-17': 'O' };
    expect(one(pupil({ ...gap }, { to: '2025-11-17' }), r, '2025-11-17')).toMatchObject({
      fired: false,
      evidence: { from: '2025-11-12', sessionsCounted: 5 },
    });
    expect(
      one(pupil({ ...gap, '2025-11-18': ['O', ''] }, { to: '2025-11-18' }), r, '2025-11-18'),
    ).toMatchObject({ fired: true, evidence: { from: '2025-11-12', fromSession: 'AM', sessionsCounted: 6 } });
    // A late session (U) counts as unauthorised absence, said per session.
    const late = pupil({ ...morning, '2025-11-18': ['U', 'O'] }, { to: '2025-11-18' });
    expect(one(late, r, '2025-11-18')).toMatchObject({
      fired: true,
      evidence: { seenInSchool: 1 },
      explanation:
        'unauthorised absence 6 sessions (3 school days) in a row (2025-11-13 AM to 2025-11-18 PM) — in school late (U, after the register closed) at 1 of them',
    });
  });

  it('count-inside: days off the timetable (C2) or on study leave (S) count once the absence has begun, also after the last missed day, named in the evidence; never before it, and a run ends at the first attended session', () => {
    const r = {
      kind: 'consecutive-absence',
      days: 5,
      sessionsNotExpected: 'count-inside',
      noReasonOnLatestDay: true,
    };
    // Timetabled Monday to Wednesday: N Mon 17 – Wed 19, off timetable Thu 20 – Fri 21.
    const week: Marks = {
      '2025-11-13': 'C2',
      '2025-11-17': 'N',
      '2025-11-18': 'N',
      '2025-11-19': 'N',
      '2025-11-20': 'C2',
      '2025-11-21': 'S',
    };
    expect(one(pupil(week, { to: '2025-11-20' }), r, '2025-11-20')).toMatchObject({
      fired: false,
      explanation: 'absent 4 school days in a row; the rule needs 5',
    });
    // The C2 Thursday before the absence (13th) is not counted; the latest missed day (Wed 19) has
    // no reason, so contact is unanswered whatever the arranged days after it say.
    expect(one(pupil(week, { to: '2025-11-21' }), r, '2025-11-21')).toMatchObject({
      fired: true,
      evidence: {
        from: '2025-11-17',
        to: '2025-11-21',
        count: 5,
        notExpected: ['2025-11-20', '2025-11-21'],
      },
      explanation:
        "absent 5 school days in a row (2025-11-17 to 2025-11-21); 2 of them off the pupil's timetable or on study leave (C2, S: 2025-11-20, 2025-11-21), not seen as the absence went on; no reason recorded since 2025-11-17",
    });
    // A reason on the latest missed day: answered, though the arranged days came after it.
    expect(one(pupil({ ...week, '2025-11-19': 'I' }, { to: '2025-11-21' }), r, '2025-11-21')).toMatchObject({
      fired: false,
      explanation: 'absent 5 school days in a row, but the latest (2025-11-19) has a reason recorded',
    });
    // In school for Monday 24's morning: the run has ended, arranged days or not.
    const back = pupil({ ...week, '2025-11-24': ['/', 'C2'] }, { to: '2025-11-24' });
    expect(one(back, r, '2025-11-24')).toMatchObject({ fired: false });
    // … and, for a return made after the run (`afterReturn`), it counted the arranged days up to then.
    expect(one(back, { ...r, afterReturn: true }, '2025-11-24')).toMatchObject({
      fired: true,
      evidence: { from: '2025-11-17', to: '2025-11-21', count: 5, ended: true },
    });
    // Without count-inside (the default, pass-over) off-timetable days are never counted.
    expect(
      one(pupil(week, { to: '2025-11-21' }), { ...r, sessionsNotExpected: 'pass-over' }, '2025-11-21'),
    ).toMatchObject({ fired: false, explanation: 'absent 3 school days in a row; the rule needs 5' });
  });

  it('ends when the pupil comes back', () => {
    const p = pupil({ '2025-11-12': 'N', '2025-11-13': 'N', '2025-11-17': 'N' }, { to: '2025-11-18' });
    expect(one(p, rule, '2025-11-17').fired).toBe(true);
    expect(one(p, rule, '2025-11-18').fired).toBe(false);
  });

  it('uses the lighter action when every day has a reason and there is no concern flag (Heath Lane)', () => {
    const r = { ...rule, whenReasonedEachDay: { action: 'phone-call', role: 'attendance-coordinator' } };
    const ill = pupil({ '2025-11-13': 'I', '2025-11-17': 'I', '2025-11-18': 'M' }, { to: '2025-11-18' });
    expect(one(ill, r, '2025-11-18')).toMatchObject({
      fired: true,
      action: 'phone-call',
      role: 'attendance-coordinator',
    });
    const unexplained = pupil(
      { '2025-11-13': 'I', '2025-11-17': 'N', '2025-11-18': 'I' },
      { to: '2025-11-18' },
    );
    expect(one(unexplained, r, '2025-11-18')).toMatchObject({ fired: true, action: 'home-visit' });
    const concern = pupil(
      { '2025-11-13': 'I', '2025-11-17': 'I', '2025-11-18': 'I' },
      { to: '2025-11-18', flags: { welfareConcern: true } },
    );
    expect(one(concern, r, '2025-11-18')).toMatchObject({ fired: true, action: 'home-visit' });
  });

  it('counts U (arrived after the register closed) as seen, never as absent', () => {
    const late = pupil({ '2025-11-13': 'N', '2025-11-17': 'U', '2025-11-18': 'N' }, { to: '2025-11-18' });
    expect(one(late, rule, '2025-11-18')).toMatchObject({ fired: false });
    const allLate = pupil({ '2025-11-13': 'U', '2025-11-17': 'U', '2025-11-18': 'U' }, { to: '2025-11-18' });
    expect(one(allLate, rule, '2025-11-18').fired).toBe(false);
    // The statutory LA return lists U itself (an unauthorised absence in law): it still counts there.
    const statutory = {
      kind: 'consecutive-absence',
      days: 3,
      codes: ['G', 'N', 'O', 'U'],
      action: 'la-notification',
    };
    // … said as what it is: unauthorised absence, the child in school late each day — not "absent",
    // and no child missing (King's no-notice exemption does not rest on it).
    expect(one(allLate, statutory, '2025-11-18')).toMatchObject({
      fired: true,
      evidence: { seenInSchool: 3, seenLast: true },
      explanation:
        'unauthorised absence 3 school days in a row (2025-11-13 to 2025-11-18) — in school late (U, after the register closed) on 3 of them',
    });
    const notSeen = pupil({ '2025-11-13': 'N', '2025-11-17': 'O', '2025-11-18': 'G' }, { to: '2025-11-18' });
    expect(one(notSeen, statutory, '2025-11-18').evidence).not.toHaveProperty('seenInSchool');
    // Late once, then not seen since: missing now (the exemption stands), the late day still said.
    const lateThenGone = pupil(
      { '2025-11-13': 'U', '2025-11-17': 'N', '2025-11-18': 'G' },
      { to: '2025-11-18' },
    );
    const gone = one(lateThenGone, statutory, '2025-11-18').evidence;
    expect(gone).toMatchObject({ seenInSchool: 1 });
    expect(gone).not.toHaveProperty('seenLast');
  });

  it('contact made means a reason a parent gives for every absent session of each day (the code table)', () => {
    const r = { ...rule, whenReasonedEachDay: { action: 'phone-call', role: 'attendance-coordinator' } };
    // E (suspension) is authorised but the school's, not a parent's contact.
    const suspended = pupil(
      { '2025-11-13': 'I', '2025-11-17': 'E', '2025-11-18': 'I' },
      { to: '2025-11-18' },
    );
    expect(one(suspended, r, '2025-11-18')).toMatchObject({ fired: true, action: 'home-visit' });
    // S (study leave) and C2 (part-time timetable) are sessions the pupil was not expected at: such a
    // day neither counts in the run nor ends it, so ill on the days around it is three days ill.
    for (const code of ['S', 'C2']) {
      const marks = { '2025-11-12': 'I', '2025-11-13': 'I', '2025-11-17': code, '2025-11-18': 'I' };
      expect(one(pupil(marks, { to: '2025-11-18' }), r, '2025-11-18')).toMatchObject({
        fired: true,
        action: 'phone-call',
      });
      const two = pupil({ '2025-11-13': 'I', '2025-11-17': code, '2025-11-18': 'I' }, { to: '2025-11-18' });
      expect(one(two, r, '2025-11-18').fired).toBe(false);
    }
    // Half a day with a reason and half without is not contact for that day.
    const half = pupil(
      { '2025-11-13': 'I', '2025-11-17': ['M', 'N'], '2025-11-18': 'I' },
      { to: '2025-11-18' },
    );
    expect(one(half, r, '2025-11-18')).toMatchObject({ fired: true, action: 'home-visit' });
    for (const code of ['I', 'M', 'R', 'C', 'T']) {
      const p = pupil({ '2025-11-13': 'I', '2025-11-17': code, '2025-11-18': 'I' }, { to: '2025-11-18' });
      expect(one(p, r, '2025-11-18')).toMatchObject({ fired: true, action: 'phone-call' });
    }
  });

  it('an attendance concern keeps the visit even with a reason each day (Heath Lane: "no … attendance concerns")', () => {
    const r = {
      ...rule,
      whenReasonedEachDay: {
        action: 'phone-call',
        role: 'attendance-coordinator',
        attendanceConcernAtMost: 0.9,
      },
    };
    const marks: Record<string, string> = { '2025-11-13': 'I', '2025-11-17': 'I', '2025-11-18': 'I' };
    const poor = { ...marks };
    calendar.between('2025-09-03', '2025-11-10').forEach((d, i) => {
      if (i % 5 === 0) poor[d] = 'O';
    });
    const f = one(pupil(poor, { to: '2025-11-18' }), r, '2025-11-18');
    expect(f).toMatchObject({ fired: true, action: 'home-visit' });
    expect(f.explanation).toMatch(/attendance concern/);
    // The same illness for a pupil with good attendance before it: a phone call.
    expect(one(pupil(marks, { to: '2025-11-18' }), r, '2025-11-18')).toMatchObject({ action: 'phone-call' });
  });

  it('the attendance concern counts the sessions the pupil was expected at: a part-time timetable (C2), study leave (S) and closures are in neither possible nor attended', () => {
    const r = {
      ...rule,
      whenReasonedEachDay: {
        action: 'phone-call',
        role: 'attendance-coordinator',
        attendanceConcernAtMost: 0.9,
      },
    };
    const weekday = (d: string) => new Date(`${d}T12:00:00Z`).getUTCDay();
    // Part-time since September (C2 Wednesday to Friday), present on every timetabled day, then
    // ill Thursday, Monday, Tuesday (the timetable changed for the week): no attendance concern —
    // the statutory rate (C2 an authorised absence) would be about 40%.
    const partTime: Marks = {};
    for (const d of calendar.between('2025-09-03', '2025-11-12')) if (weekday(d) >= 3) partTime[d] = 'C2';
    partTime['2025-11-13'] = 'I';
    partTime['2025-11-17'] = 'I';
    partTime['2025-11-18'] = 'I';
    const f = one(pupil(partTime, { to: '2025-11-18' }), r, '2025-11-18');
    expect(f).toMatchObject({ fired: true, action: 'phone-call' });
    expect(f.explanation).not.toContain('there is an attendance concern');
    // The same with study leave (S), or half the term closed (#, Y4): no concern either.
    for (const code of ['S', '#', 'Y4']) {
      const other = Object.fromEntries(Object.entries(partTime).map(([d, c]) => [d, c === 'C2' ? code : c]));
      expect(one(pupil(other, { to: '2025-11-18' }), r, '2025-11-18'), code).toMatchObject({
        action: 'phone-call',
      });
    }
    // A part-time pupil who missed half their timetabled days (O): a concern, counted over those days.
    const missing: Marks = { ...partTime };
    calendar.between('2025-09-03', '2025-10-24').forEach((d, i) => {
      if (weekday(d) < 3 && i % 2 === 0) missing[d] = 'O';
    });
    const g = one(pupil(missing, { to: '2025-11-18' }), r, '2025-11-18');
    expect(g).toMatchObject({ fired: true, action: 'home-visit' });
    expect(g.explanation).toMatch(/there is an attendance concern \(attendance [4-6]\d\.\d% this year/);
  });

  it('a school day with no mark at all inside the run is no contact made that day: the visit, and said by date', () => {
    const r = { ...rule, whenReasonedEachDay: { action: 'phone-call', role: 'attendance-coordinator' } };
    // Ill Monday, Wednesday and Thursday; Tuesday's register missing (not taken, or not synced).
    const p = pupil({ '2025-11-17': 'I', '2025-11-19': 'I', '2025-11-20': 'I' }, { to: '2025-11-20' });
    const tue = calendar.indexOf('2025-11-18')!;
    p.slots[tue * 2] = 0;
    p.slots[tue * 2 + 1] = 0;
    const f = one(p, r, '2025-11-20');
    // The run still passes over the gap (3 school days ill) …
    expect(f).toMatchObject({ fired: true, action: 'home-visit', evidence: { count: 3 } });
    // … but contact "for each day of absence" is not shown for a day with no register.
    expect(f.explanation).toContain('; no register for 2025-11-18');
    expect(f.explanation).not.toContain('a reason for each day');
    // With an unreasoned day as well, both are said.
    const both = pupil({ '2025-11-17': 'O', '2025-11-19': 'I', '2025-11-20': 'I' }, { to: '2025-11-20' });
    both.slots[tue * 2] = 0;
    both.slots[tue * 2 + 1] = 0;
    expect(one(both, r, '2025-11-20').explanation).toContain(
      '; not every day has a reason from a parent/carer, and no register for 2025-11-18',
    );
    // A day the register marks as no session for the triggers (C2, a closure) is no absence to reason.
    for (const code of ['C2', '#']) {
      const marked = pupil(
        { '2025-11-17': 'I', '2025-11-18': code, '2025-11-19': 'I', '2025-11-20': 'I' },
        { to: '2025-11-20' },
      );
      expect(one(marked, r, '2025-11-20'), code).toMatchObject({ fired: true, action: 'phone-call' });
    }
  });

  it('needs a flag when the rule names flags', () => {
    const r = {
      kind: 'consecutive-absence',
      days: 5,
      flags: ['welfareConcern', 'cpPlan'],
      noReasonRecorded: true,
    };
    const week = {
      '2025-11-11': 'N',
      '2025-11-12': 'N',
      '2025-11-13': 'O',
      '2025-11-17': 'N',
      '2025-11-18': 'N',
    };
    expect(one(pupil(week, { to: '2025-11-18' }), r, '2025-11-18')).toMatchObject({
      fired: false,
      explanation: expect.stringContaining('none of the flags'),
    });
    expect(one(pupil(week, { to: '2025-11-18', flags: { cpPlan: true } }), r, '2025-11-18').fired).toBe(true);
    const contacted = { ...week, '2025-11-12': 'I' };
    expect(
      one(pupil(contacted, { to: '2025-11-18', flags: { cpPlan: true } }), r, '2025-11-18'),
    ).toMatchObject({
      fired: false,
      explanation: 'absent 3 school days in a row with no reason recorded; the rule needs 5',
    });
  });

  it('a day the register marks as a whole-school closure (# or Y4) neither counts nor ends a run', () => {
    // Mon 17, Tue 18 N; Wed 19 closed (not in the calendar); Thu 20 N: 3 school days absent.
    for (const closed of ['#', 'Y4']) {
      const p = pupil(
        { '2025-11-17': 'N', '2025-11-18': 'N', '2025-11-19': closed, '2025-11-20': 'N' },
        { to: '2025-11-20' },
      );
      const f = one(p, rule, '2025-11-20');
      expect(f).toMatchObject({
        fired: true,
        evidence: { from: '2025-11-17', to: '2025-11-20', count: 3 },
        explanation: 'absent 3 school days in a row (2025-11-17 to 2025-11-20)',
      });
      expect(f.evidence.days!.map((d) => `${d.date} ${d.am}`)).toContain(`2025-11-19 ${closed}`);
      // The closed day as the latest marked day does not end the run either (no close and re-raise).
      const closedToday = pupil(
        { '2025-11-13': 'N', '2025-11-17': 'N', '2025-11-18': 'N', '2025-11-19': closed },
        { to: '2025-11-19' },
      );
      expect(one(closedToday, rule, '2025-11-19')).toMatchObject({ fired: true, evidence: { count: 3 } });
    }
    // Every session the table counts as not possible (dual registered elsewhere, transport, travel,
    // part of the premises, public health, other, not on roll, non-compulsory age, access), and a
    // school day with no mark at all, neither counts nor ends a run either: N, N, that, N is 3 days
    // in a row (it was two runs, and a 10-day return was never prompted across a snow day).
    for (const code of ['D', 'Y1', 'Y2', 'Y3', 'Y7', 'Q', 'X', 'Z', '' /* no mark */]) {
      const p = pupil(
        { '2025-11-17': 'N', '2025-11-18': 'N', '2025-11-19': code, '2025-11-20': 'N' },
        { to: '2025-11-20' },
      );
      expect({ code, f: one(p, rule, '2025-11-20') }).toMatchObject({
        code,
        f: { fired: true, evidence: { from: '2025-11-17', to: '2025-11-20', count: 3 } },
      });
    }
    // More than a week with no marks at all (an export that stopped) ends a run: it says nothing.
    const stopped: Record<string, string> = { '2025-11-03': 'N', '2025-11-04': 'N' };
    for (const d of calendar.between('2025-11-05', '2025-11-13')) stopped[d] = '';
    stopped['2025-11-17'] = 'N';
    expect(one(pupil(stopped, { to: '2025-11-17' }), rule, '2025-11-17')).toMatchObject({
      fired: false,
      evidence: { from: '2025-11-17', count: 1 },
    });
    // A dual-registered pupil's mornings at the other school: the day counts by its afternoon here.
    const dualMornings = pupil(
      { '2025-11-17': ['D', 'N'], '2025-11-18': ['D', 'N'], '2025-11-19': ['D', '/'] },
      { to: '2025-11-19' },
    );
    expect(one(dualMornings, rule, '2025-11-19').fired).toBe(false);
    expect(one(dualMornings, rule, '2025-11-18')).toMatchObject({ fired: false, evidence: { count: 2 } });
    // Closed at lunch: the morning the school met counts; present that morning ends the run.
    const halfClosed = pupil(
      { '2025-11-17': 'N', '2025-11-18': ['N', 'Y4'], '2025-11-19': 'N' },
      { to: '2025-11-19' },
    );
    expect(one(halfClosed, rule, '2025-11-19')).toMatchObject({ fired: true, evidence: { count: 3 } });
    const presentMorning = pupil(
      { '2025-11-17': 'N', '2025-11-18': ['/', 'Y4'], '2025-11-19': 'N' },
      { to: '2025-11-19' },
    );
    expect(one(presentMorning, rule, '2025-11-19').fired).toBe(false);
  });

  it('a closure day in a run of reasons keeps the lighter action (contact made each day the school met)', () => {
    const r = { ...rule, whenReasonedEachDay: { action: 'phone-call', role: 'attendance-coordinator' } };
    const p = pupil(
      { '2025-11-17': 'I', '2025-11-18': 'I', '2025-11-19': 'Y4', '2025-11-20': 'I' },
      { to: '2025-11-20' },
    );
    expect(one(p, r, '2025-11-20')).toMatchObject({ fired: true, action: 'phone-call' });
  });

  it('"no reason on the latest day": the run counts every absent day; contact unanswered now', () => {
    const r = { kind: 'consecutive-absence', days: 5, noReasonOnLatestDay: true };
    // Ill (a parent rang) Mon 10 – Tue 11, no answer from Wed 12; Fri 14 INSET.
    const rang = { '2025-11-10': 'I', '2025-11-11': 'I', '2025-11-12': 'N', '2025-11-13': 'N' };
    const f = one(pupil({ ...rang, '2025-11-17': 'N' }, { to: '2025-11-17' }), r, '2025-11-17');
    expect(f).toMatchObject({
      fired: true,
      evidence: { from: '2025-11-10', to: '2025-11-17', count: 5 },
      explanation:
        'absent 5 school days in a row (2025-11-10 to 2025-11-17); no reason recorded since 2025-11-12',
    });
    // The parent answers again (a reason on the latest day): not unanswered.
    expect(one(pupil({ ...rang, '2025-11-17': 'I' }, { to: '2025-11-17' }), r, '2025-11-17')).toMatchObject({
      fired: false,
      explanation: 'absent 5 school days in a row, but the latest (2025-11-17) has a reason recorded',
    });
    // Four days is not a week, unanswered or not.
    expect(one(pupil(rang, { to: '2025-11-13' }), r, '2025-11-13').fired).toBe(false);
  });

  it('with a code filter: 10 days continuous unauthorised, and 20 days of G/N/O', () => {
    const unauth: Record<string, string> = {};
    for (const d of calendar.between('2025-11-03', '2025-11-18')) unauth[d] = d < '2025-11-10' ? 'G' : 'O';
    const p = pupil(unauth, { to: '2025-11-18' });
    // 3–7 Nov, 10–13 Nov, 17–18 Nov: 11 school days (14th is INSET).
    expect(
      one(p, { kind: 'consecutive-absence', days: 10, codes: ['G', 'N', 'O', 'U'] }, '2025-11-18'),
    ).toMatchObject({ fired: true, evidence: { count: 11 } });
    expect(
      one(p, { kind: 'consecutive-absence', days: 20, codes: ['G', 'N', 'O'] }, '2025-11-18').fired,
    ).toBe(false);
    const withIllness = pupil({ ...unauth, '2025-11-12': 'I' }, { to: '2025-11-18' });
    expect(
      one(withIllness, { kind: 'consecutive-absence', days: 10, codes: ['G', 'N', 'O', 'U'] }, '2025-11-18')
        .fired,
    ).toBe(false);
  });
});

describe('attendance-rate', () => {
  it('fires below 90% over three months (Thames View) and not at exactly 90%', () => {
    const marks: Record<string, string> = {};
    const days = calendar.between('2025-09-03', '2025-11-18');
    days.forEach((d, i) => {
      if (i % 10 === 0) marks[d] = 'N'; // 10% missed
    });
    const r = { kind: 'attendance-rate', window: { months: 3 }, threshold: 0.9 };
    const p = pupil(marks, { to: '2025-11-18' });
    const f = one(p, r, '2025-11-18');
    expect(f.evidence.rate).toBeCloseTo(0.9, 1);
    expect(f.fired).toBe(f.evidence.rate! < 0.9);
    marks[days[1]!] = 'G';
    expect(one(pupil(marks, { to: '2025-11-18' }), r, '2025-11-18').fired).toBe(true);
  });

  it('three months back from 31 December start on 1 October (a shorter month clamps), not 2 October', () => {
    // 1 Oct – 19 Dec: 52 school days (104 sessions); absent 1 Oct and 15–19 Dec: 92/104 = 88.5%.
    // From 2 October it would be 92/102 = 90.2%: not below 90%.
    const marks: Record<string, string> = { '2025-10-01': 'O' };
    for (const d of calendar.between('2025-12-15', '2025-12-19')) marks[d] = 'O';
    const r = { kind: 'attendance-rate', window: { months: 3 }, threshold: 0.9 };
    expect(one(pupil(marks, { to: '2025-12-19' }), r, '2025-12-31')).toMatchObject({
      fired: true,
      evidence: { from: '2025-10-01', possible: 104, attended: 92 },
    });
    // Same day of the month where it exists: 18 November → from 19 August.
    expect(one(pupil(marks, { to: '2025-11-18' }), r, '2025-11-18').evidence.from).toBe('2025-08-19');
  });

  it('persistent (≤ 90%) and severe (≤ 50%) over the academic year, ignoring sessions not possible', () => {
    const marks: Record<string, string | [string, string]> = {};
    const days = calendar.between('2025-09-03', '2025-11-18');
    days.forEach((d, i) => {
      marks[d] = i % 2 === 0 ? 'I' : i % 3 === 0 ? 'Y4' : '/';
    });
    const p = pupil(marks, { to: '2025-11-18' });
    const severe = one(
      p,
      { kind: 'attendance-rate', window: 'academic-year', threshold: 0.5, inclusive: true },
      '2025-11-18',
    );
    expect(severe.fired).toBe(true);
    expect(severe.evidence.possible).toBeLessThan(days.length * 2); // Y4 sessions are not possible
  });

  it('stays quiet with too few sessions', () => {
    const p = pupil({ '2025-09-03': 'N' }, { to: '2025-09-04' });
    expect(
      one(p, { kind: 'attendance-rate', window: 'academic-year', threshold: 0.9 }, '2025-09-04'),
    ).toMatchObject({
      fired: false,
      explanation: expect.stringContaining('only 4 possible session(s)'),
    });
  });
});

describe('unresolved-code', () => {
  it('fires when an N is still there 5 school days later', () => {
    const p = pupil({ '2025-11-10': ['N', '/'] }, { to: '2025-11-18' });
    // The school days after Mon 10 Nov: 11, 12, 13, 17, 18 (the 14th is INSET) — the 18th is the
    // fifth, the day by which the N must be replaced.
    expect(one(p, { kind: 'unresolved-code', code: 'N', afterSchoolDays: 5 }, '2025-11-17').fired).toBe(
      false,
    );
    const f = one(p, { kind: 'unresolved-code', code: 'N', afterSchoolDays: 5 }, '2025-11-18');
    expect(f.fired).toBe(true);
    expect(f.explanation).toBe('1 session(s) still coded N 5 or more school days later (first 2025-11-10)');
    expect(f.evidence.sessions).toEqual([{ date: '2025-11-10', session: 'AM', code: 'N' }]);
  });
  it('counts the 5 school days without a day the register marks as a whole-school closure', () => {
    const r = { kind: 'unresolved-code', code: 'N', afterSchoolDays: 5 };
    // N on Mon 10; the school closed Tue 11 (Y4, not in the calendar); Fri 14 INSET.
    const p = pupil({ '2025-11-10': ['N', '/'], '2025-11-11': 'Y4' }, { to: '2025-11-19' });
    expect(one(p, r, '2025-11-18').fired).toBe(false);
    expect(one(p, r, '2025-11-19').fired).toBe(true);
  });
  it("counts the school's days, not a part-time pupil's timetable, and not last year's N", () => {
    const r = { kind: 'unresolved-code', code: 'N', afterSchoolDays: 5 };
    // Off timetable (C2) Mon to Wed; N on Thu 2 Oct: due by Thu 9 Oct as anyone's (it waited for
    // six more of the pupil's days, to the 17th).
    const marks: Record<string, string> = { '2025-10-02': 'N' };
    for (const d of calendar.between('2025-09-03', '2025-10-24'))
      if ([1, 2, 3].includes(new Date(`${d}T12:00:00Z`).getUTCDay())) marks[d] = 'C2';
    const partTime = pupil(marks, { to: '2025-10-10' });
    expect(one(partTime, r, '2025-10-08').fired).toBe(false);
    expect(one(partTime, r, '2025-10-09').fired).toBe(true);
    // An N left from last July (the calendar's year before) opens nothing this year.
    const old = pupil({ '2024-12-18': 'N' }, { from: '2024-09-04', to: '2025-11-18' });
    expect(one(old, r, '2025-11-18').fired).toBe(false);
    // Said as what was looked at, never "no N older than 5 school days" while one is in the register.
    expect(one(old, r, '2025-11-18').explanation).toBe(
      'no N due this academic year still coded N 5 or more school days later (one due in an earlier year is not looked at: by then it counts as O)',
    );
  });
});

describe('cumulative-absence', () => {
  it('counts illness days consecutive or not, half days as halves, within the academic year', () => {
    const marks: Record<string, string | [string, string]> = {};
    const days = calendar.between('2025-09-03', '2025-11-18');
    expect(days).toHaveLength(49);
    for (let i = 0; i < 15; i++) marks[days[i * 3]!] = 'I'; // 15 scattered days
    marks[days[46]!] = ['I', '/'];
    const p = pupil(marks, { to: '2025-11-18' });
    expect(one(p, { kind: 'cumulative-absence', codes: ['I'], days: 15 }, '2025-11-18')).toMatchObject({
      fired: true,
      evidence: { count: 15.5 },
    });
    expect(one(p, { kind: 'cumulative-absence', codes: ['I'], days: 16 }, '2025-11-18').fired).toBe(false);
    // Last year's illness does not count.
    const lastYear = pupil({ '2024-09-10': 'I' }, { from: '2024-09-04', to: '2025-11-18' });
    expect(one(lastYear, { kind: 'cumulative-absence', codes: ['I'], days: 0.5 }, '2025-11-18').fired).toBe(
      false,
    );
  });
  it('the 15th day of illness raises the return also when it is recorded after the pupil is back', () => {
    const r = { kind: 'cumulative-absence', codes: ['I'], days: 15 };
    const marks: Record<string, string> = {};
    for (const d of calendar.between('2025-09-03', '2025-12-19').slice(0, 14)) marks[d] = 'I'; // 14 days
    // Mon 17 Nov ill (first coded N, amended to I when the parent's note came on Wed 19); back Tue 18.
    marks['2025-11-17'] = 'I';
    marks['2025-11-18'] = '/';
    marks['2025-11-19'] = '/';
    expect(one(pupil(marks, { to: '2025-11-19' }), r, '2025-11-19')).toMatchObject({
      fired: true,
      evidence: { count: 15 },
    });
  });
});

describe('repeated-pattern', () => {
  it('fires when recent absences fall in the weeks of absence a year earlier', () => {
    // 2024: absent Wed 13 – Thu 14 Nov. 2025: absent Wed 12 – Thu 13 Nov (same ISO weeks, 52 weeks on).
    const p = pupil(
      { '2024-11-13': 'I', '2024-11-14': 'I', '2025-11-12': 'I', '2025-11-13': 'I' },
      { from: '2024-09-04', to: '2025-11-18' },
    );
    const f = one(p, { kind: 'repeated-pattern', recentSchoolDays: 10, minDays: 2 }, '2025-11-18');
    expect(f.fired).toBe(true);
    expect(f.evidence.lastYear).toEqual(['2024-11-13', '2024-11-14']);
    const noHistory = pupil(
      { '2025-11-12': 'I', '2025-11-13': 'I' },
      { from: '2024-09-04', to: '2025-11-18' },
    );
    expect(
      one(noHistory, { kind: 'repeated-pattern', recentSchoolDays: 10, minDays: 2 }, '2025-11-18').fired,
    ).toBe(false);
  });
  it('counts only the codes the rule names, both this year and a year earlier', () => {
    const r = { kind: 'repeated-pattern', recentSchoolDays: 10, minDays: 2, codes: ['G', 'I', 'N', 'O'] };
    const same = (code: string) =>
      pupil(
        { '2024-11-13': code, '2024-11-14': code, '2025-11-12': code, '2025-11-13': code },
        { from: '2024-09-04', to: '2025-11-18' },
      );
    for (const code of ['R', 'M', 'E', 'C2', 'S', 'C', 'C1', 'J1', 'T'])
      expect(one(same(code), r, '2025-11-18').fired, code).toBe(false);
    for (const code of ['G', 'I', 'N', 'O']) expect(one(same(code), r, '2025-11-18').fired, code).toBe(true);
    // Ill this year in the weeks of last year's unagreed holiday: the pattern.
    const illAfterHoliday = pupil(
      { '2024-11-13': 'G', '2024-11-14': 'G', '2025-11-12': 'I', '2025-11-13': 'I' },
      { from: '2024-09-04', to: '2025-11-18' },
    );
    expect(one(illAfterHoliday, r, '2025-11-18').fired).toBe(true);
  });
});

describe('illness-during-refused-leave', () => {
  const rule = { kind: 'illness-during-refused-leave', codes: ['I'], recentSchoolDays: 20 };

  it('fires when illness falls in a period for which leave was refused, and names the sessions', () => {
    const p = pupil({ '2025-11-12': 'I', '2025-11-13': ['I', '/'] }, { to: '2025-11-18' });
    expect(one(p, rule, '2025-11-18')).toMatchObject({
      fired: false,
      explanation: 'no term-time leave refusal recorded',
    });
    p.refusedLeave.push({ from: '2025-11-10', to: '2025-11-13' });
    const f = one(p, rule, '2025-11-18');
    expect(f.fired).toBe(true);
    expect(f.evidence).toMatchObject({ from: '2025-11-10', to: '2025-11-13', count: 3 });
    expect(f.evidence.sessions).toEqual([
      { date: '2025-11-12', session: 'AM', code: 'I' },
      { date: '2025-11-12', session: 'PM', code: 'I' },
      { date: '2025-11-13', session: 'AM', code: 'I' },
    ]);
  });

  it('ignores other absence codes and refusals long past', () => {
    const p = pupil({ '2025-11-12': 'G' }, { to: '2025-12-19' });
    p.refusedLeave.push({ from: '2025-11-10', to: '2025-11-13' });
    expect(one(p, rule, '2025-11-18').fired).toBe(false);
    const old = pupil({ '2025-09-10': 'I' }, { to: '2025-12-19' });
    old.refusedLeave.push({ from: '2025-09-08', to: '2025-09-12' });
    expect(one(old, rule, '2025-12-19').fired).toBe(false);
  });
});

describe('left-roll', () => {
  const rule = { kind: 'left-roll', withinDays: 28, action: 'missing-education-check' };
  const leaver = (on: string, destination: string | null = null) => {
    const p = pupil({}, { to: '2025-11-12' });
    p.leaving = { on, destination };
    return p;
  };

  it('fires for a pupil off roll, with the leaving date and the destination when the MIS gives one', () => {
    const f = one(leaver('2025-11-12', 'Riverside Academy'), rule, '2025-11-18');
    expect(f).toMatchObject({
      fired: true,
      action: 'missing-education-check',
      evidence: { from: '2025-11-12', leftOn: '2025-11-12', destination: 'Riverside Academy' },
    });
    expect(f.explanation).toContain('confirm the pupil is on roll there');
    const unknown = one(leaver('2025-11-12'), rule, '2025-11-18');
    expect(unknown.evidence).toEqual({ from: '2025-11-12', leftOn: '2025-11-12' });
    expect(unknown.explanation).toContain('no destination in the MIS');
  });

  it('does not fire on roll, before the leaving date, or once the leaving is older than the window', () => {
    expect(one(pupil({}, { to: '2025-11-18' }), rule, '2025-11-18')).toMatchObject({
      fired: false,
      explanation: 'on roll',
    });
    expect(one(leaver('2025-11-20'), rule, '2025-11-18').fired).toBe(false);
    // Day 28 after leaving still fires; day 29 does not (the episode closes and is never raised again).
    expect(one(leaver('2025-10-21'), rule, '2025-11-18').fired).toBe(true);
    expect(one(leaver('2025-10-20'), rule, '2025-11-18')).toMatchObject({
      fired: false,
      explanation: 'left the roll on 2025-10-20, more than 28 days ago (checked then)',
    });
  });

  it('is refused without its window, or with a window past a year', () => {
    expect(() => rules({ kind: 'left-roll' })).toThrow(/withinDays/);
    expect(() => rules({ kind: 'left-roll', withinDays: 400 })).toThrow();
  });
});
