import { createHmac } from 'node:crypto';

/**
 * A reply to an alarm SMS: `1 <code>` takes the alarm, `2 <code>` says the worker is safe. The code
 * is four digits derived from the alarm id with the school's SMS auth token, so it cannot be worked
 * out from the alarm number and needs nothing stored.
 */
export function smsReplyCode(authToken: string, alarmId: string): string {
  const mac = createHmac('sha256', authToken).update(`alarm:${alarmId}`).digest();
  return String(mac.readUInt32BE(0) % 10_000).padStart(4, '0');
}

export type SmsReply = { action: 'take' | 'safe'; code: string } | null;

/** What a reply says: "1 4821", "2-4821", "1 #4821"; anything else is not understood. */
export function parseSmsReply(body: string): SmsReply {
  const m = /^\s*([12])\s*[-#:]?\s*(\d{4})\s*[.!]?\s*$/.exec(body);
  if (!m) return null;
  return { action: m[1] === '1' ? 'take' : 'safe', code: m[2]! };
}

/** The end of an alarm SMS: the school's reply prompt with the alarm's code. */
export function replyPromptFor(template: string, authToken: string, alarmId: string): string {
  return template.replaceAll('{code}', smsReplyCode(authToken, alarmId));
}
