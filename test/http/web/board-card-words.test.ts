import { describe, expect, it } from 'vitest';

/**
 * Found by a newcomer's walk of the board. An out-of-hours overdue alarm whose texts failed had its
 * level 2 ("Still no word: call the visit location, then the police") brought forward at once, and the
 * card showed only the next step's words — the first level's, milder, for the next round: the office
 * was never told to call the police. The card now says what to do now (the level last sent's words)
 * above the next step, and that the level came early because the messages before it failed. Its
 * "(weekend ladder)" named a ladder the school does not have (the out-of-hours one ran). And "Back
 * safe" pressed after "I need help" was nowhere on the card.
 */
interface Fact {
  term: string;
  text: string;
  alert: boolean;
  now?: boolean;
}
const words = (await import(new URL('../../../web/assets/words.js', import.meta.url).href)) as {
  escalationFacts: (a: Record<string, unknown>, time: (iso: string) => string) => Fact[];
  ladderSaid: (a: Record<string, unknown>) => string;
  backSafeSaid: (time: string) => string;
  unheardSaid: (a: Record<string, unknown>) => { badge: string; phone: string | null } | null;
};
const time = (iso: string) => iso.slice(11, 16);

/** The overdue alarm of the walk: level 2 of 2 sent at once, the next round's level 1 at 06:58. */
const overdue = {
  level: 2,
  ladderPeriod: 'weekend',
  ladderUsed: 'out-of-hours',
  levelSent: {
    level: 2,
    of: 2,
    round: 1,
    prompt: 'Still no word: call the visit location (the family), then the police (999)',
    broughtForward: { failed: ['sms:on-call-leaders'] },
  },
  nextStep: {
    level: 1,
    prompt: 'Visit overdue out of hours: on-call leaders, call the worker now',
    targets: 'Alert the board, text on call leaders',
    dueAt: '2026-12-05T06:58:00.000Z',
    overdue: false,
  },
};

describe('an alarm card’s escalation', () => {
  it('says what to do now — the words of the level sent — above the next step, and that it came early and why', () => {
    const facts = words.escalationFacts(overdue, time);
    expect(facts.map((f) => f.term)).toEqual(['Escalation', 'Now', 'Next step']);
    expect(facts[1]).toMatchObject({
      text: 'Still no word: call the visit location (the family), then the police (999)',
      now: true,
    });
    expect(facts[0]!.text).toBe(
      'level 2 of 2 sent (out of hours ladder, at the weekend) — sent at once, not at its time: level 1’s messages failed (sms → on-call-leaders)',
    );
    expect(facts[0]!.alert).toBe(true);
    expect(facts[2]!.text).toBe(
      'At 06:58: alert the board, text on call leaders — “Visit overdue out of hours: on-call leaders, call the worker now”',
    );
  });

  it('a level sent at its time, or one with no words: nothing said of coming early; no "Now" without words', () => {
    const atItsTime = { ...overdue, levelSent: { ...overdue.levelSent, broughtForward: null } };
    const [escalation] = words.escalationFacts(atItsTime, time);
    expect(escalation).toMatchObject({
      text: 'level 2 of 2 sent (out of hours ladder, at the weekend)',
      alert: false,
    });
    const noWords = { ...overdue, levelSent: { ...overdue.levelSent, prompt: null } };
    expect(words.escalationFacts(noWords, time).map((f) => f.term)).toEqual(['Escalation', 'Next step']);
    // Paused while acknowledged: the ladder's words are not the office's to act on now.
    const paused = { ...overdue, level: null, nextStep: null };
    expect(words.escalationFacts(paused, time).map((f) => f.term)).toEqual(['Escalation']);
  });

  it('names the ladder actually used: a weekend without a weekend ladder runs the out-of-hours one', () => {
    expect(words.ladderSaid({ ladderPeriod: 'weekend', ladderUsed: 'out-of-hours' })).toBe(
      ' (out of hours ladder, at the weekend)',
    );
    expect(words.ladderSaid({ ladderPeriod: 'weekend', ladderUsed: 'weekend' })).toBe(' (weekend ladder)');
    expect(words.ladderSaid({ ladderPeriod: 'holiday', ladderUsed: 'out-of-hours' })).toBe(
      ' (out of hours ladder, in a holiday)',
    );
    expect(words.ladderSaid({ ladderPeriod: 'out-of-hours', ladderUsed: 'out-of-hours' })).toBe(
      ' (out of hours ladder)',
    );
    // Not recorded (an alarm raised before it was): the period only, never a ladder guessed.
    expect(words.ladderSaid({ ladderPeriod: 'weekend', ladderUsed: null })).toBe(' (raised at the weekend)');
    expect(words.ladderSaid({ ladderPeriod: null, ladderUsed: null })).toBe('');
  });

  it('says back safe from the phone after the alarm, for the office to call them — never closed by it', () => {
    expect(words.backSafeSaid('10:34')).toMatch(
      /^marked from the phone at 10:34, after this alarm — call them to be sure/,
    );
  });
});

/**
 * Found by a newcomer's walk: with no contacts configured, an SOS whose messages all failed said
 * "EVERY MESSAGE FAILED — phone your on-call leaders yourself" and listed no one — a list it implied
 * and did not show. With no one to list the card says why and what to do instead.
 */
describe('an alarm card no one outside the office knows of', () => {
  const failed = { warning: 'no-one-reached', type: 'sos', fromPhone: false };
  it('with people to phone, points at them below', () => {
    const said = words.unheardSaid({ ...failed, phoneThem: [{ name: 'Head', phone: '+447700900001' }] });
    expect(said).toEqual({
      badge: 'EVERY MESSAGE FAILED — no one else knows: phone them yourself (below)',
      phone: null,
    });
    expect(
      words.unheardSaid({
        ...failed,
        warning: 'ladder-stalled',
        phoneThem: [{ name: 'Head', phone: '+447700900001' }],
      })!.badge,
    ).toBe('ESCALATION HAS STOPPED — no one is being paged: phone the next step’s people yourself (below)');
  });

  it('with no contacts with a phone configured, says so for the groups and to call the worker, then the emergency plan', () => {
    const said = words.unheardSaid({
      ...failed,
      phoneThem: [],
      phoneNoOneIn: ['on-call-leaders', 'senior-leadership'],
      staffPhone: '+447700900123',
    })!;
    expect(said.badge).toBe(
      'EVERY MESSAGE FAILED — no one else knows, and no one to phone is configured: call the worker directly, then follow your emergency plan',
    );
    expect(said.badge).not.toMatch(/phone your on-call leaders yourself|\(below\)/);
    expect(said.phone).toBe(
      'No one to list: no contacts with a phone number are configured for on-call-leaders, senior-leadership (the school’s contacts: tell your admin). Call the worker directly (under Call), then follow your school’s emergency plan (999 if you fear for them).',
    );
    // A stalled ladder whose next step has no one to phone says the same of it.
    expect(
      words.unheardSaid({
        ...failed,
        warning: 'ladder-stalled',
        phoneThem: [],
        phoneNoOneIn: ['dsl'],
        staffPhone: '+447700900123',
      })!.badge,
    ).toBe(
      'ESCALATION HAS STOPPED — no one is being paged, and no one to phone is configured: call the worker directly, then follow your emergency plan',
    );
  });

  it('never says to ring the worker on a duress or silent alarm', () => {
    const said = words.unheardSaid({
      ...failed,
      type: 'duress',
      phoneThem: [],
      phoneNoOneIn: ['on-call-leaders'],
      staffPhone: '+447700900123',
    })!;
    expect(said.badge).toMatch(/follow your emergency plan \(do not ring the worker\)$/);
    expect(said.phone).toMatch(
      /do not ring the worker — a phone ringing on them can give a duress alarm away\.$/,
    );
    expect(said.phone).not.toMatch(/call the worker/i);
  });

  it('everyone with a phone is the person it is about: no one else to phone, never "none configured"', () => {
    const said = words.unheardSaid({
      ...failed,
      phoneThem: [],
      phoneNoOneIn: [],
      partnerPhone: '+447700900124',
    })!;
    expect(said.badge).toMatch(/and there is no one else to phone: call the worker directly/);
    expect(said.phone).toMatch(
      /^No one to list: there is no one else to phone\. Call the worker directly \(under Call\), then/,
    );
  });

  /**
   * Found by a newcomer's walk: with no phone number for the worker (nor a partner) the card said
   * "call the worker directly" and showed no number — a step the office could not take from it.
   */
  it('with no number for the worker nor a partner, says so by name and to use the staff contact list', () => {
    const said = words.unheardSaid({
      ...failed,
      staffName: 'Sam Staff',
      phoneThem: [],
      phoneNoOneIn: ['on-call-leaders'],
    })!;
    expect(said.badge).toBe(
      'EVERY MESSAGE FAILED — no one else knows, and no one to phone is configured: ring Sam Staff from your staff contact list (Doorstep has no number), then follow your emergency plan',
    );
    expect(said.phone).toBe(
      'No one to list: no contacts with a phone number are configured for on-call-leaders (the school’s contacts: tell your admin). Doorstep has no phone number for Sam Staff — ring them from your staff contact list, then follow your school’s emergency plan (999 if you fear for them).',
    );
    for (const line of [said.badge, said.phone]) expect(line).not.toMatch(/call the worker directly/i);
    // A partner on the visit with no number either: both named.
    expect(
      words.unheardSaid({ ...failed, staffName: 'Sam Staff', partnerName: 'Pat Partner', phoneThem: [] })!
        .phone,
    ).toMatch(
      /Doorstep has no phone number for Sam Staff or Pat Partner \(partner\) — ring them from your staff contact list/,
    );
  });

  it('the stalled step’s "phone them yourself" only when the card lists people to phone', () => {
    const stalled = {
      ...overdue,
      nextStep: { ...overdue.nextStep, overdue: true, prompt: overdue.nextStep.targets },
    };
    expect(words.escalationFacts(stalled, time).at(-1)!.text).toBe(
      'NOT SENT — due at 06:58: alert the board, text on call leaders; phone them yourself',
    );
    expect(words.escalationFacts({ ...stalled, phoneThem: [] }, time).at(-1)!.text).toBe(
      'NOT SENT — due at 06:58: alert the board, text on call leaders; no one in them to phone (below)',
    );
  });

  it('says nothing of it while someone was reached', () => {
    expect(words.unheardSaid({ warning: 'no-response', phoneThem: [] })).toBeNull();
    expect(words.unheardSaid({ warning: null })).toBeNull();
  });
});
