import { describe, expect, it } from 'vitest';

/**
 * "I need help", then "Back safe" on the same phone: the page said "Welcome back: you are recorded as
 * back safe. The watch has ended." and under it, in red, "Phone the on-call number now, or 999 if you
 * are in danger" — two opposite things at once. Back safe since the help was pressed, it says plainly
 * that the help alarm stays open until the office closes it, and the office will call to check (or,
 * where no one may know of it, to phone and say they are safe); 999 only if they are not safe after
 * all. Help pressed after back safe is help asked for now, said as before.
 */
interface Alarm {
  type: string;
  status: string;
  fromDevice: boolean;
  raisedAt: string;
  noOneReached?: boolean;
  onlyOnBoard?: boolean;
}
interface VisitWords {
  outBannerLines: (
    alarms: Alarm[],
    o?: { self?: boolean; office?: { phone: string; label: string } | null; backSafeAt?: string | null },
  ) => string[];
  backSafeDoneWords: (o: { self: boolean; both: boolean; helpOpen: boolean }) => string;
}
const words = (await import(
  new URL('../../../web/assets/visit-words.js', import.meta.url).href
)) as VisitWords;

const office = { phone: '0113 496 0000', label: 'Call the on-call number' };
const backSafeAt = '2026-12-05T06:50:00Z';
const help = (o: Partial<Alarm> = {}): Alarm => ({
  type: 'sos',
  status: 'open',
  fromDevice: false,
  raisedAt: '2026-12-05T06:48:00Z',
  ...o,
});

describe('back safe with "I need help" still open', () => {
  it('no one reached: says it stays open and to phone to say they are safe — never "phone now" under "welcome back"', () => {
    const lines = words.outBannerLines([help({ noOneReached: true })], { office, backSafeAt });
    expect(lines).toEqual([
      'You are recorded as back safe. Your alarm is on the office’s screen and it stays open until the office closes it, but every message to people’s phones failed: no one may know of it. Phone the on-call number to say you are safe. If you are not safe, call 999.',
    ]);
    expect(lines.join(' ')).not.toMatch(/now, or 999|if you are in danger/);
  });

  it('passed on, or taken: the office will call to check', () => {
    expect(words.outBannerLines([help()], { office, backSafeAt })).toEqual([
      'You are recorded as back safe. Your alarm is with the office and it stays open until the office closes it: they will call you to check you are safe. If you are not safe, call 999.',
    ]);
    expect(words.outBannerLines([help({ status: 'acknowledged' })], { office, backSafeAt })).toEqual([
      'You are recorded as back safe. The office has taken your alarm: it stays open until the office closes it, and they will call you to check you are safe. If you are not safe, call 999.',
    ]);
    expect(words.outBannerLines([help({ onlyOnBoard: true })], { office: null, backSafeAt })[0]).toMatch(
      /no one has been messaged yet: no one may know of it\. Tell the office to say you are safe\./,
    );
  });

  it('help pressed after back safe is help asked for now: said as while out', () => {
    const after = help({ raisedAt: '2026-12-05T06:55:00Z', noOneReached: true });
    expect(words.outBannerLines([after], { office, backSafeAt })).toEqual(
      words.outBannerLines([after], { office }),
    );
    expect(words.outBannerLines([after], { office, backSafeAt })[0]).toMatch(
      /^Your alarm is on the office’s screen, but every message .* Phone the on-call number now, or 999 if you are in danger\.$/,
    );
  });

  it('the back safe message says the help alarm stays open', () => {
    expect(words.backSafeDoneWords({ self: true, both: false, helpOpen: true })).toBe(
      'Welcome back: you are recorded as back safe. The watch has ended. The “I need help” alarm stays open until the office closes it: they will call you to check.',
    );
    expect(words.backSafeDoneWords({ self: true, both: true, helpOpen: false })).toBe(
      'Welcome back: you are both recorded as back safe. The watch has ended.',
    );
    expect(words.backSafeDoneWords({ self: false, both: true, helpOpen: false })).toBe(
      'Recorded as back safe. The watch on this visit has ended.',
    );
  });
});
