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
