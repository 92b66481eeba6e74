import type { DoorstepConfig, SchoolConfig } from '../config/schema.ts';
import { e164 } from '../domain/phone-key.ts';

/**
 * Schools that text their alarms from one number: every alarm text asks for a reply
 * (`channels.sms.replyPrompt`), and the provider posts a reply to the one inbound URL it holds for
 * the number it was sent to — one school's `/hooks/sms/<school>`. The other school's people then
 * cannot take its alarms by SMS (their replies are judged at the wrong school, as not theirs or a
 * wrong code). Said, naming the schools and what to do; null when the school's number is its own.
 */
export function sharedSmsFrom(s: SchoolConfig, config: DoorstepConfig): string | null {
  const from = s.channels.sms?.from;
  const mine = from === undefined ? null : e164(from);
  if (!mine) return null;
  const others = config.schools.filter(
    (o) => o !== s && o.channels.sms?.from !== undefined && e164(o.channels.sms.from) === mine,
  );
  if (others.length === 0) return null;
  return `channels.sms.from ${from} is also the number ${others.map((o) => o.id).join(', ')} text${others.length === 1 ? 's' : ''} alarms from: the provider posts every reply to that number to the one inbound URL set for it (/hooks/sms/<school>): only one of these schools hears the replies, and the others' people cannot take their alarms by SMS — give each school its own number`;
}
