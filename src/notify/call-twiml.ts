import { londonClock } from '../domain/attendance/dates.ts';
/**
 * The TwiML of a ladder call (Twilio's voice markup: `<Response>` with `<Say>`, `<Gather>`, `<Hangup>`;
 * https://www.twilio.com/docs/voice/twiml). What is spoken: the alarm's type, the person it is about
 * and the time it was raised; never a pupil, an address or a visit's details. Pure.
 */

export const xmlEscape = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

export interface SpokenAlarm {
  schoolName: string;
  alarmType: string;
  /** The person's display name; else their staff id, or the unknown device. */
  who: string;
  raisedAt: Date;
}

/** The words of the call: what, who, when, and what a keypress does. */
export function spokenAlarm(a: SpokenAlarm): string {
  const what = a.alarmType.replace(/_/g, ' ');
  return `Doorstep alarm at ${a.schoolName}. ${what} alarm from ${a.who}, raised at ${londonClock(a.raisedAt)}. Press 1 to take this alarm.`;
}

/** The call's document: the message spoken twice while listening for one key, then goodbye. */
export function callTwiml(o: { text: string; gatherUrl: string; language: string }): string {
  const say = `<Say language="${xmlEscape(o.language)}">${xmlEscape(o.text)}</Say>`;
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Gather numDigits="1" action="${xmlEscape(o.gatherUrl)}" method="POST" timeout="8">${say}<Pause length="1"/>${say}</Gather><Say language="${xmlEscape(o.language)}">No key was pressed. The alarm is still open on the Doorstep board. Goodbye.</Say><Hangup/></Response>`;
}

/** What the callee hears after a keypress: `words`, then either the question again or goodbye. */
export function answerTwiml(o: {
  words: string;
  language: string;
  askAgain?: { gatherUrl: string } | undefined;
}): string {
  const say = (t: string) => `<Say language="${xmlEscape(o.language)}">${xmlEscape(t)}</Say>`;
  const tail = o.askAgain
    ? `<Gather numDigits="1" action="${xmlEscape(o.askAgain.gatherUrl)}" method="POST" timeout="8">${say('Press 1 to take this alarm.')}</Gather>${say('Goodbye.')}<Hangup/>`
    : '<Hangup/>';
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${say(o.words)}${tail}</Response>`;
}
