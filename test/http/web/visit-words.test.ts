import { describe, expect, it } from 'vitest';

interface VisitWords {
  returnTimeToday: (hhmm: string, now?: Date) => { at?: Date; error?: string };
  whenSaid: (iso: string | null, now?: Date) => string;
  backSafeWords: (o: { self: boolean; leadName: string | null; partnerName: string | null; me: string }) => {
    question: string;
    effect: string;
    yes: string;
  };
}
// The visit page's module (plain JS, no DOM).
const words = (await import(
  new URL('../../../web/assets/visit-words.js', import.meta.url).href
)) as VisitWords;

describe('the visit page: return times', () => {
  // The device's clock (the form's time is the device's), 11:05 on 23 Nov 2026.
  const now = new Date(2026, 10, 23, 11, 5);

  it('a time picked is today’s, never rolled over to tomorrow: one not in the future is refused with a message', () => {
    expect(words.returnTimeToday('12:30', now)).toEqual({ at: new Date(2026, 10, 23, 12, 30) });
    for (const passed of ['11:00', '11:05', '00:10']) {
      const r = words.returnTimeToday(passed, now);
      expect(r.at, passed).toBeUndefined();
      expect(r.error).toMatch(
        new RegExp(`^${passed} is not later than now .*: choose a later time today\\.$`),
      );
    }
    expect(words.returnTimeToday('', now).error).toMatch(/Choose the time/);
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
