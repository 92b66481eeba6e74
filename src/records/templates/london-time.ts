// Made once: an Intl.DateTimeFormat costs far more to build than to use (a night's trigger notes).
const LONDON_TIME = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** `Tue 18 Nov 2025, 16:05` in Europe/London: how the safeguarding team reads times. */
export function londonTime(instant: Date): string {
  return LONDON_TIME.format(instant).replace(/^(\w{3}),/, '$1');
}
