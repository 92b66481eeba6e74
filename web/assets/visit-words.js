// The visit page's return times and the words of its "Back safe" question (no DOM: the tests import
// this module on its own). A time picked in a form is today's: it is never rolled over to another
// day — a time that is not in the future is refused here, with a message, before anything is sent.

const london = (options) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', ...options });
const clock = london({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const day = london({ weekday: 'short', day: 'numeric', month: 'short' });
const dateOf = (d) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(d);

/**
 * The instant of `hhmm` (HH:MM from a time input) today, as `{ at }`; `{ error }` when no time was
 * chosen or the time is not after `now`. Never the next day.
 */
export function returnTimeToday(hhmm, now = new Date()) {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm ?? '');
  if (!m) return { error: 'Choose the time you expect to be back.' };
  const at = new Date(now);
  at.setHours(Number(m[1]), Number(m[2]), 0, 0);
  if (at.getTime() <= now.getTime())
    return {
      error: `${hhmm} is not later than now (${clock.format(now)}): choose a later time today.`,
    };
  return { at };
}

/** "15:05", or "15:05 on Tue 24 Nov" when that is not today (London). */
export function whenSaid(iso, now = new Date()) {
  if (!iso) return '—';
  const d = new Date(iso);
  const time = clock.format(d);
  return dateOf(d) === dateOf(now) ? time : `${time} on ${day.format(d)}`;
}

/**
 * The words of the "Back safe" confirmation: the question, what it does (it ends the watch, for
 * both people when two went), and the answer's label. `self`: the person asking is on the visit.
 */
export function backSafeWords({ self, leadName, partnerName, me }) {
  const others = [leadName, partnerName].filter((n) => n && n !== me);
  const both = Boolean(leadName && partnerName);
  if (self)
    return {
      question: both ? 'Are you both back safe?' : 'Are you back safe?',
      effect: both
        ? `This ends the watch for both of you (you and ${others.join(' and ')}): no more check-ins or overdue alarms for this visit.`
        : 'This ends the watch on this visit: no more check-ins or overdue alarms.',
      yes: both ? 'Yes, we are both back safe' : 'Yes, I am back safe',
    };
  const who = [leadName, partnerName].filter(Boolean).join(' and ') || 'the worker';
  return {
    question: `Have you spoken to ${who}, and ${both ? 'are they both' : 'are they'} back safe?`,
    effect: both
      ? `This ends the watch for both of them (${who}): no more check-ins or overdue alarms for this visit.`
      : `This ends the watch on ${who}: no more check-ins or overdue alarms for this visit.`,
    yes: 'Yes, I spoke to them: back safe',
  };
}
