import { describe, expect, it } from 'vitest';

interface VisitWords {
  returnTimeAhead: (
    hhmm: string,
    now?: Date,
    bound?: { until?: string | null; whom?: string | null },
  ) => { at?: Date; error?: string };
  lateClosedWords: (office: { phone: string; label: string } | null) => string;
  arrivalTimeAt: (hhmm: string, now?: Date) => Date | undefined;
  whenSaid: (iso: string | null, now?: Date) => string;
  returnTimeHint: (until: string | null, now?: Date) => string;
  afterBackWords: (o: {
    self: boolean;
    byMe: boolean;
    byName: string | null;
    at: string;
    closed?: boolean;
    whom?: string | null;
  }) => { alert: boolean; line: string; button: string; hint: string | null };
  resumedWords: (
    r: { expectedReturnAt: string; overdueNow: boolean; onlyOnBoard: boolean },
    whom?: string | null,
    now?: Date,
  ) => { text: string; alert: boolean };
  backSafeWords: (o: { self: boolean; leadName: string | null; partnerName: string | null; me: string }) => {
    question: string;
    effect: string;
    yes: string;
  };
  outBannerLines: (
    alarms: {
      type: string;
      status: string;
      fromDevice: boolean;
      noOneReached?: boolean;
      onlyOnBoard?: boolean;
    }[],
    o?: { self?: boolean; office?: { phone: string; label: string } | null; lateClosed?: boolean },
  ) => string[];
  recordedWords: (
    answer: { watchOnlyOnBoard?: boolean; office?: { phone: string; label: string } | null },
    what: 'departed' | 'late',
    o?: { iso?: string | null; self?: boolean; now?: Date },
  ) => { text: string; alert: boolean };
  watchedSaid: (watchOnlyOnBoard: boolean | undefined, self?: boolean) => string;
  checkInClock: (o: {
    alarms: { type: string; raisedAt: string; fromDevice?: boolean }[];
    nextAlarmAt: string | null;
    expectedReturnAt: string | null;
  }) => { missedSince?: string; dueAt?: string } | null;
  arrivalOwed: (
    rules: { arrivalCheckInMinutes?: number; checkInGraceMinutes?: number },
    v: { departedAt: string | null; arrivedAt: string | null; returnedAt: string | null },
    self?: boolean,
  ) => { dueAt: string; hint: string } | null;
  riskUnassessedSaid: (risk: { assessedBy: string[]; at: string }) => string;
}
// The visit page's module (plain JS, no DOM).
const words = (await import(
  new URL('../../../web/assets/visit-words.js', import.meta.url).href
)) as VisitWords;

describe('the visit page: return times', () => {
  // 11:05 London time (GMT in November) on 23 Nov 2026.
  const now = new Date('2026-11-23T11:05:20Z');

  it('a time picked is its next occurrence within 4 hours, never one just passed rolled over to tomorrow', () => {
    expect(words.returnTimeAhead('12:30', now)).toEqual({ at: new Date('2026-11-23T12:30:00Z') });
    expect(words.returnTimeAhead('15:05', now)).toEqual({ at: new Date('2026-11-23T15:05:00Z') });
    for (const refused of ['11:00', '11:05', '00:10', '15:06']) {
      const r = words.returnTimeAhead(refused, now);
      expect(r.at, refused).toBeUndefined();
      expect(r.error).toBe(
        `${refused} is not within the next 4 hours (it is 11:05 now): choose a time up to 15:05.`,
      );
    }
    expect(words.returnTimeAhead('', now).error).toMatch(/Choose the time/);
  });

  it('late in the evening, a time after midnight is tonight’s, on the London clock', () => {
    const late = new Date('2026-11-23T23:30:00Z');
    expect(words.returnTimeAhead('00:30', late)).toEqual({ at: new Date('2026-11-24T00:30:00Z') });
    // In summer London is an hour ahead of UTC: 22:30 UTC is 23:30 there.
    expect(words.returnTimeAhead('00:15', new Date('2026-07-01T22:30:00Z'))).toEqual({
      at: new Date('2026-07-01T23:15:00Z'),
    });
  });

  it('the field’s hint names the bound’s day once it is tomorrow’s, and never says “today” for a time after midnight', () => {
    const late = new Date('2026-11-23T23:30:00Z');
    expect(words.returnTimeHint(null, late)).toBe('Later than now, within the next 4 hours');
    expect(words.returnTimeHint('2026-11-23T23:40:00Z', late)).toBe(
      'Later than now, and no later than 23:40',
    );
    expect(words.returnTimeHint('2026-11-24T00:10:00Z', late)).toBe(
      'Later than now, and no later than 00:10 on Tue 24 Nov',
    );
    // "I am still out" with a time after midnight says its day too.
    expect(
      words.resumedWords(
        { expectedReturnAt: '2026-11-24T00:30:00Z', overdueNow: false, onlyOnBoard: false },
        null,
        late,
      ).text,
    ).toBe('Watched again: expected back 00:30 on Tue 24 Nov.');
  });

  it('an estimated arrival typed is always read, so the server says what is wrong with it, never "not given"', () => {
    // This minute is now (the server accepts it), not refused as a return time is.
    expect(words.arrivalTimeAt('11:05', now)).toEqual(new Date('2026-11-23T11:05:00Z'));
    expect(words.arrivalTimeAt('11:25', now)).toEqual(new Date('2026-11-23T11:25:00Z'));
    // Just passed: today's (the server says "it has already passed"), not tomorrow's or nothing.
    expect(words.arrivalTimeAt('10:55', now)).toEqual(new Date('2026-11-23T10:55:00Z'));
    // Later than a return could be: its next occurrence (the server says "after the expected return").
    expect(words.arrivalTimeAt('16:00', now)).toEqual(new Date('2026-11-23T16:00:00Z'));
    expect(words.arrivalTimeAt('', now)).toBeUndefined();
    // Across midnight, on the London clock: 00:10 at 23:50 is tonight's; 23:55 at 00:05 has passed.
    expect(words.arrivalTimeAt('00:10', new Date('2026-11-23T23:50:00Z'))).toEqual(
      new Date('2026-11-24T00:10:00Z'),
    );
    expect(words.arrivalTimeAt('23:55', new Date('2026-11-24T00:05:00Z'))).toEqual(
      new Date('2026-11-23T23:55:00Z'),
    );
  });

  // Found by review: the page added the clock's minutes to now as real minutes, an hour out across a
  // change — at 00:30 GMT on the night the clocks go forward, "03:00" was sent as 04:00 summer time.
  const london = (d: Date) =>
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/London',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(d);
  it('across a clock change the time picked is the London clock’s: forward in March, back in October', () => {
    const march = words.returnTimeAhead('03:00', new Date('2027-03-28T00:30:00Z'));
    expect(march.at).toEqual(new Date('2027-03-28T02:00:00Z')); // 03:00 BST, 90 real minutes ahead
    expect(london(march.at!)).toBe('03:00');
    // 01:30 does not happen that night: the next 01:30 is tomorrow's, beyond 4 hours: refused.
    expect(words.returnTimeAhead('01:30', new Date('2027-03-28T00:30:00Z')).error).toMatch(
      /not within the next 4 hours/,
    );
    const october = words.returnTimeAhead('03:00', new Date('2027-10-30T23:30:00Z')); // 00:30 BST
    // 03:00 GMT: 3½ real hours ahead (the hour from 01:00 comes twice), not 2½.
    expect(october.at).toEqual(new Date('2027-10-31T03:00:00Z'));
    // 01:30 happens twice that night: the first, in summer time.
    expect(words.returnTimeAhead('01:30', new Date('2027-10-30T23:30:00Z')).at).toEqual(
      new Date('2027-10-31T00:30:00Z'),
    );
    // An arrival typed across the change is the clock's too.
    expect(words.arrivalTimeAt('03:00', new Date('2027-03-28T00:30:00Z'))).toEqual(
      new Date('2027-03-28T02:00:00Z'),
    );
    expect(words.arrivalTimeAt('00:10', new Date('2027-03-28T00:30:00Z'))).toEqual(
      new Date('2027-03-28T00:10:00Z'),
    );
  });

  it('a worker’s own new return time goes no later than the server takes (4 hours after someone else confirmed them)', () => {
    // Someone else last confirmed them at 10:00: their own time goes up to 14:00.
    const bound = { until: '2026-11-23T14:00:00Z', whom: 'the office' };
    expect(words.returnTimeAhead('14:00', now, bound)).toEqual({ at: new Date('2026-11-23T14:00:00Z') });
    expect(words.returnTimeAhead('14:01', now, bound).error).toBe(
      '14:01 is more than 4 hours after someone other than you last confirmed you safe: choose a time up to 14:00, or phone the office to set a later one.',
    );
    // The office's own (no bound) goes the full 4 hours from now.
    expect(words.returnTimeAhead('14:01', now)).toEqual({ at: new Date('2026-11-23T14:01:00Z') });
  });

  it('says the date with the time when it is not today', () => {
    const today = new Date('2026-11-23T11:05:00Z');
    expect(words.whenSaid('2026-11-23T15:00:00Z', today)).toBe('15:00');
    expect(words.whenSaid('2026-11-24T11:00:00Z', today)).toBe('11:00 on Tue 24 Nov');
    expect(words.whenSaid(null, today)).toBe('—');
  });
});

describe('the visit page: "Back safe" asks first, and says it ends the watch for both', () => {
  it('asks the worker whether they are both back, naming the other person', () => {
    const w = words.backSafeWords({
      self: true,
      leadName: 'Sam Visitor',
      partnerName: 'Kim Visitor',
      me: 'Sam Visitor',
    });
    expect(w.question).toBe('Are you both back safe?');
    expect(w.effect).toMatch(/ends the watch for both of you \(you and Kim Visitor\)/);
    expect(w.yes).toBe('Yes, we are both back safe');
    const alone = words.backSafeWords({
      self: true,
      leadName: 'Sam Visitor',
      partnerName: null,
      me: 'Sam Visitor',
    });
    expect(alone.question).toBe('Are you back safe?');
  });

  it('asks the office whether it spoke to them', () => {
    const w = words.backSafeWords({
      self: false,
      leadName: 'Sam Visitor',
      partnerName: 'Kim Visitor',
      me: 'Olu Office',
    });
    expect(w.question).toBe('Have you spoken to Sam Visitor and Kim Visitor, and are they both back safe?');
    expect(w.effect).toMatch(/ends the watch for both of them/);
    expect(w.yes).toBe('Yes, I spoke to them: back safe');
  });
});

describe('the visit page: the banner while out', () => {
  const alarm = (type: string, status = 'open', fromDevice = false) => ({ type, status, fromDevice });

  it('says nothing of a fob alarm (a phone lighting up beside someone in danger can give them away)', () => {
    expect(words.outBannerLines([alarm('sos', 'open', true), alarm('duress', 'open', true)])).toEqual([]);
    expect(words.outBannerLines([alarm('sos', 'acknowledged', true)])).toEqual([]);
  });

  it('says whether a person has taken the page’s own alarm yet, and that the police are the worker’s to call', () => {
    expect(words.outBannerLines([alarm('sos')])).toEqual([
      'Your alarm is with the office and is passed on until someone takes it. If you are in danger now, call 999.',
    ]);
    expect(words.outBannerLines([alarm('sos'), alarm('sos', 'acknowledged')])).toEqual([
      'The office has taken your alarm and is dealing with it. If you are in danger now, call 999.',
    ]);
    expect(words.outBannerLines([alarm('missed_check_in'), alarm('overdue_visit')])).toEqual([
      'Check-in missed: the office has been alerted. Check in now if you are safe.',
      'You are overdue: the office has been alerted. Set a new return time or say you are back safe.',
    ]);
  });

  it('never says "passed on" or "alerted" when every message to a person failed: the worker is told to phone', () => {
    const unheard = (type: string) => ({ ...alarm(type), noOneReached: true });
    const lines = words.outBannerLines(
      [unheard('sos'), unheard('missed_check_in'), unheard('overdue_visit')],
      { office: { phone: '01632 960123', label: 'Call the office' } },
    );
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).not.toMatch(/passed on|has been alerted/);
      expect(line).toMatch(/phone the office/i);
    }
    expect(lines[0]).toMatch(/no one may know yet/);
    // One of two help presses reached someone: that one is being passed on.
    expect(words.outBannerLines([unheard('sos'), alarm('sos')])[0]).toMatch(
      /passed on until someone takes it/,
    );
    // Taken by a person: said so, whatever the messages did.
    expect(
      words.outBannerLines([{ ...alarm('sos', 'acknowledged'), noOneReached: false }, unheard('sos')])[0],
    ).toMatch(/has taken your alarm/);
  });
});

describe('the visit page: an alarm only the board knows of yet', () => {
  it('never says "the office has been alerted" while no one but the board has been told: whom to phone', () => {
    const onBoard = (type: string) => ({ type, status: 'open', fromDevice: false, onlyOnBoard: true });
    const office = { phone: '07700 900123', label: 'Call the on-call number' };
    expect(words.outBannerLines([onBoard('missed_check_in'), onBoard('overdue_visit')], { office })).toEqual([
      'Check-in missed: it is on the office’s screen, and no one has been messaged yet. Check in now if you are safe; if not, phone the on-call number or 999.',
      'You are overdue: it is on the office’s screen, and no one has been messaged yet. Set a new return time or say you are back safe; if you need help, phone the on-call number or 999.',
    ]);
    // Told to people since: alerted.
    expect(
      words.outBannerLines([{ ...onBoard('overdue_visit'), onlyOnBoard: false }], { office })[0],
    ).toMatch(/the office has been alerted/);
  });
});

describe('the visit page: "I need help" only the board knows of yet', () => {
  const onBoard = { type: 'sos', status: 'open', fromDevice: false, noOneReached: false, onlyOnBoard: true };
  it('never says the alarm "is with the office and is passed on" while no person has been messaged: whom to phone', () => {
    const office = { phone: '07700 900123', label: 'Call the on-call number' };
    expect(words.outBannerLines([onBoard], { office })).toEqual([
      'Your alarm is on the office’s screen, and no one has been messaged yet: no one may be watching it. Phone the on-call number now, or 999 if you are in danger.',
    ]);
    expect(words.outBannerLines([onBoard], { office: null })[0]).toMatch(
      /no one has been messaged yet: no one may be watching it\. Call 999 if you are in danger\.$/,
    );
    // Told to a person since: passed on; taken: said so.
    expect(words.outBannerLines([{ ...onBoard, onlyOnBoard: false }], { office })[0]).toMatch(
      /is with the office and is passed on/,
    );
    expect(words.outBannerLines([{ ...onBoard, status: 'acknowledged' }], { office })[0]).toMatch(
      /has taken your alarm/,
    );
  });
});

describe('the visit page: whom the banner tells the worker to phone', () => {
  const unheard = (type: string) => ({ type, status: 'open', fromDevice: false, noOneReached: true });
  const all = [unheard('sos'), unheard('missed_check_in'), unheard('overdue_visit')];
  it('out of hours, whom the call button rings — the on-call number — never "the office"', () => {
    const lines = words.outBannerLines(all, {
      office: { phone: '07700 900123', label: 'Call the on-call number' },
    });
    expect(lines[0]).toMatch(
      /no one may know yet\. Phone the on-call number now, or 999 if you are in danger\.$/,
    );
    expect(lines[1]).toMatch(/if not, phone the on-call number or 999\.$/);
    expect(lines[2]).toMatch(/if you need help, phone the on-call number or 999\.$/);
    for (const line of lines) expect(line).not.toMatch(/phone the office/i);
  });
  it('the office said to be possibly closed, as its button says; no number at all, 999 alone', () => {
    expect(
      words.outBannerLines([unheard('sos')], {
        office: { phone: '01632 960123', label: 'Call the office (may be closed now)' },
      })[0],
    ).toMatch(/Phone the office \(may be closed now\) now, or 999/);
    const none = words.outBannerLines(all, { office: null });
    expect(none[0]).toMatch(/no one may know yet\. Call 999 if you are in danger\.$/);
    for (const line of none) expect(line).not.toMatch(/phone the/i);
  });
});

describe('the visit page: overdue, past the worker’s own running-late bound', () => {
  const overdue = (noOneReached = false) => ({
    type: 'overdue_visit',
    status: 'open',
    fromDevice: false,
    noOneReached,
  });
  const office = { phone: '07700 900123', label: 'Call the on-call number' };
  it('says to phone for a new return time, never "Set a new return time" the server would refuse', () => {
    expect(words.outBannerLines([overdue()], { office, lateClosed: true })).toEqual([
      'You are overdue: the office has been alerted. Phone the on-call number to set your new return time or say you are back safe.',
    ]);
    expect(words.outBannerLines([overdue(true)], { office, lateClosed: true })[0]).toMatch(
      /failed\. Phone the on-call number to set your new return time or say you are back safe; if you need help, phone the on-call number or 999\.$/,
    );
    expect(words.outBannerLines([overdue()], { office })[0]).toMatch(/Set a new return time/);
    expect(words.outBannerLines([overdue()], { office: null, lateClosed: true })[0]).toMatch(
      /Ask the office to set your new return time/,
    );
  });
  it('in place of the form: whom to phone, as the call button names it, with its number', () => {
    expect(words.lateClosedWords(office)).toBe(
      'You have been out more than 4 hours since someone other than you last confirmed you safe: call the on-call number on 07700 900123 to set your new return time (they set it after speaking to you).',
    );
    expect(words.lateClosedWords(null)).toMatch(/: ask the office to set your new return time/);
  });
});

describe('the visit page: the banner the office sees (not on the visit)', () => {
  const alarm = (type: string, noOneReached = false) => ({
    type,
    status: 'open',
    fromDevice: false,
    noOneReached,
  });
  it('tells the office what to do for the worker — phone them, then record it — never "check in now if you are safe"', () => {
    const lines = words.outBannerLines([alarm('missed_check_in'), alarm('overdue_visit', true)], {
      self: false,
    });
    expect(lines).toEqual([
      'Check-in missed. Phone them; once you have spoken to them and they are safe, record a check-in for them.',
      'Overdue: every message to people’s phones failed: no one else may know. Phone them; once you have spoken to them, set their new return time or record them back safe.',
    ]);
    for (const line of lines) expect(line).not.toMatch(/Check in now|if you are safe|You are|Your alarm/);
  });
});

describe('the visit page: the arrival call a policy asks for', () => {
  const out = { departedAt: '2026-11-23T10:00:00Z', arrivedAt: null, returnedAt: null };
  it('owed until an arrival is recorded (a check-in is none), due as the watcher raises it, "I have arrived" said by name', () => {
    const thames = { arrivalCheckInMinutes: 20, checkInGraceMinutes: 0 };
    const owed = words.arrivalOwed(thames, out);
    expect(owed?.dueAt).toBe('2026-11-23T10:20:00.000Z');
    expect(owed?.hint).toBe(
      'When you get there, press "I have arrived" (due by 10:20): the school is told you have arrived safely. "Check in" does not say you have arrived.',
    );
    expect(words.arrivalOwed({ ...thames, checkInGraceMinutes: 2 }, out)?.dueAt).toBe(
      '2026-11-23T10:22:00.000Z',
    );
    expect(words.arrivalOwed(thames, out, false)?.hint).toBe(
      'No arrival recorded yet (due by 10:20): a check-in does not say they have arrived.',
    );
    expect(words.arrivalOwed(thames, { ...out, arrivedAt: '2026-11-23T10:15:00Z' })).toBeNull();
    expect(words.arrivalOwed(thames, { ...out, returnedAt: '2026-11-23T11:00:00Z' })).toBeNull();
    // A pack that asks for no arrival call (every school's but Thames View's): nothing said.
    expect(words.arrivalOwed({ checkInGraceMinutes: 0 }, out)).toBeNull();
  });
});

describe('the visit page: the check-in countdown', () => {
  const back = '2026-11-23T14:51:00Z';
  it('while a check-in is missed, says since when — never the deadline after it', () => {
    expect(
      words.checkInClock({
        alarms: [{ type: 'missed_check_in', raisedAt: '2026-11-23T13:36:00Z' }],
        nextAlarmAt: back,
        expectedReturnAt: back,
      }),
    ).toEqual({ missedSince: '2026-11-23T13:36:00Z' });
  });
  it('a fob’s own missed check-in (closed by a person on the board, not by a check-in here) hides no deadline and asks nothing', () => {
    const fob = {
      type: 'missed_check_in',
      status: 'open',
      raisedAt: '2026-11-23T13:36:00Z',
      fromDevice: true,
    };
    expect(
      words.checkInClock({ alarms: [fob], nextAlarmAt: '2026-11-23T13:56:00Z', expectedReturnAt: back }),
    ).toEqual({ dueAt: '2026-11-23T13:56:00Z' });
    expect(words.outBannerLines([fob])).toEqual([]);
  });
  it('else the next check-in when it comes before the return; the return alone has its own countdown', () => {
    expect(
      words.checkInClock({ alarms: [], nextAlarmAt: '2026-11-23T13:56:00Z', expectedReturnAt: back }),
    ).toEqual({ dueAt: '2026-11-23T13:56:00Z' });
    expect(words.checkInClock({ alarms: [], nextAlarmAt: back, expectedReturnAt: back })).toBeNull();
    expect(
      words.checkInClock({
        alarms: [{ type: 'overdue_visit', raisedAt: back }],
        nextAlarmAt: null,
        expectedReturnAt: back,
      }),
    ).toBeNull();
  });
});

describe('the visit page: back safe said, and "I am still out"', () => {
  const at = '2026-11-23T10:30:00Z';
  it('tells a worker loudly who said them back safe and what to press; their own, or the office’s, plainly', () => {
    expect(words.afterBackWords({ self: true, byMe: false, byName: 'Olive Office', at })).toEqual({
      alert: true,
      line: 'Marked back safe at 10:30 by Olive Office — still out? Press “I am still out”.',
      button: 'I am still out',
      hint: null,
    });
    expect(words.afterBackWords({ self: true, byMe: true, byName: 'Sam Visitor', at })).toMatchObject({
      alert: false,
      line: 'Marked back safe at 10:30 — still out? Press “I am still out”.',
    });
    expect(words.afterBackWords({ self: false, byMe: true, byName: 'Olive Office', at })).toEqual({
      alert: false,
      line: 'Marked back safe at 10:30: if they have told you they are still out, watch them again.',
      button: 'Still out — watch again',
      hint: null,
    });
    // Past their own bound no time is asked: an overdue alarm is raised at once.
    expect(
      words.afterBackWords({ self: true, byMe: false, byName: 'Pat', at, closed: true, whom: 'the office' })
        .hint,
    ).toMatch(
      /out more than 4 hours .*raises an overdue alarm at once; phone the office to set your new return time\.$/,
    );
  });

  it('"I am still out" past their own bound says the alarm is raised now and who knows of it, never "they phone you"', () => {
    const now = new Date('2026-11-23T18:30:00Z');
    const boardOnly = words.resumedWords(
      { expectedReturnAt: now.toISOString(), overdueNow: true, onlyOnBoard: true },
      'the on-call number',
      now,
    );
    expect(boardOnly).toEqual({
      text: 'Watched again. You are overdue now and the alarm is raised: it is on the office’s screen, and no one has been messaged yet: no one may be watching it. Phone the on-call number to set your new return time; if you need help, phone the on-call number or 999.',
      alert: true,
    });
    const passedOn = words.resumedWords(
      { expectedReturnAt: now.toISOString(), overdueNow: true, onlyOnBoard: false },
      null,
      now,
    );
    expect(passedOn.text).toMatch(
      /alarm is raised: it is with the office and is passed on until someone takes it\. Ask the office to set your new return time; if you need help, call 999\.$/,
    );
    for (const w of [boardOnly, passedOn]) expect(w.text).not.toMatch(/phone you|alerted now/);
    expect(
      words.resumedWords(
        { expectedReturnAt: '2026-11-23T19:30:00Z', overdueNow: false, onlyOnBoard: false },
        null,
        now,
      ),
    ).toEqual({ text: 'Watched again: expected back 19:30.', alert: false });
  });
});

describe('the visit page: leaving, when out of hours only the office’s screen watches', () => {
  const onCall = { phone: '07700 900123', label: 'Call the on-call number' };
  const office = { phone: '01632 960123', label: 'Call the office' };
  // 23:43 on a Friday (GMT in December).
  const now = new Date('2026-12-04T23:43:00Z');

  it('never says "the office knows where you are" when the server says the office’s screen alone watches: whom to phone', () => {
    expect(words.recordedWords({ watchOnlyOnBoard: true, office: onCall }, 'departed', { now })).toEqual({
      text: 'Departure recorded: it is on the office’s screen, but nobody may be watching it when an alarm comes, and no one is messaged at once if you miss a check-in or are late. If you need help, phone the on-call number or 999.',
      alert: true,
    });
    // No number given by the school: 999 alone.
    expect(words.recordedWords({ watchOnlyOnBoard: true, office: null }, 'departed', { now }).text).toMatch(
      /If you need help, call 999\.$/,
    );
    // The office leaving for a worker who phoned: what to tell them.
    expect(
      words.recordedWords({ watchOnlyOnBoard: true, office: onCall }, 'departed', { self: false, now }).text,
    ).toMatch(
      /if they miss a check-in or are late\. If they need help, they phone the on-call number or 999\.$/,
    );
    // A new return time set then says the same, never "the office knows".
    expect(
      words.recordedWords({ watchOnlyOnBoard: true, office: onCall }, 'late', {
        iso: '2026-12-05T00:30:00Z',
        now,
      }).text,
    ).toMatch(
      /^New return time 00:30 on Sat 5 Dec recorded: it is on the office’s screen, but nobody may be watching it when an alarm comes/,
    );
    // The line under "Out since …" on the worker's phone.
    expect(words.watchedSaid(true)).toBe(
      'On the office’s screen until back safe, but nobody may be watching it when an alarm comes.',
    );
  });

  it('keeps its words when someone is told at once (or in school hours), and for the office looking', () => {
    expect(words.recordedWords({ watchOnlyOnBoard: false, office }, 'departed', { now })).toEqual({
      text: 'Departure recorded: the office knows where you are.',
      alert: false,
    });
    // An answer without the fact (an older server) says what it always said.
    expect(words.recordedWords({}, 'departed', { now }).text).toBe(
      'Departure recorded: the office knows where you are.',
    );
    expect(
      words.recordedWords({ watchOnlyOnBoard: false, office }, 'late', { iso: '2026-12-04T23:55:00Z', now }),
    ).toEqual({ text: 'New return time 23:55 recorded: the office knows.', alert: false });
    expect(words.watchedSaid(false)).toBe('Watched until back safe.');
    expect(words.watchedSaid(true, false)).toBe('Watched until back safe.');
  });
});

/**
 * Found by a newcomer's walk: Hampton's visit page said "Risk level: LOW — proposed, not yet assessed
 * (by safeguarding)" as if leaving waited for an assessment, while its Needed list asked for none and
 * no form offered one — Hampton's policy asks for no risk assessment before a visit (the level is
 * set when it is asked for; a major risk is refused). It says so now.
 */
describe('the visit page: a risk level no assessor has assessed', () => {
  it('where the policy assesses at the request, says no assessment is asked for before leaving', () => {
    const said = words.riskUnassessedSaid({ assessedBy: ['safeguarding'], at: 'request' });
    expect(said).toBe(
      ' — proposed when the visit was asked for; the school’s policy asks for no risk assessment before leaving (safeguarding may assess it)',
    );
    expect(said).not.toMatch(/not yet assessed/);
  });

  it('where an assessment is its own step or the authoriser’s, says it is not yet assessed', () => {
    for (const at of ['separate', 'authorisation'])
      expect(words.riskUnassessedSaid({ assessedBy: ['safeguarding', 'dsl'], at })).toBe(
        ' — proposed, not yet assessed (by safeguarding or dsl)',
      );
  });
});
