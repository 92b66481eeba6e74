import { subscriptionFilter } from '../../../src/domain/fob/topics.ts';

/** The most a topic filter may be: a UTF-8 string of MQTT carries its length in two bytes. */
const MAX_FILTER_BYTES = 65_535;

/**
 * Why a configured topic filter (its device level `{device}`, subscribed as `+`) is no MQTT topic
 * filter, or null when it is one (MQTT 5.0 §4.7.1, §1.5.4): `#` only as the last level and alone in
 * it, `+` alone in its level, no U+0000, no lone surrogate (which UTF-8 cannot carry), at most
 * 65,535 bytes of UTF-8. The client library or the broker refuses any other, and a feed subscribed
 * to nothing receives nothing.
 */
export function topicFilterProblem(filter: string): string | null {
  const subscribed = subscriptionFilter(filter);
  if (subscribed.includes('\u0000')) return 'it holds the NUL character (U+0000), which no filter may';
  if (!subscribed.isWellFormed()) return 'it is not valid Unicode (it holds a lone surrogate)';
  const bytes = Buffer.byteLength(subscribed, 'utf8');
  if (bytes > MAX_FILTER_BYTES)
    return `it is ${bytes} bytes of UTF-8, over the ${MAX_FILTER_BYTES} a filter may be`;
  const levels = subscribed.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return `'#' must be the last level and alone in it (level ${i + 1} is "${shown(level)}")`;
    if (level.includes('+') && level !== '+')
      return `'+' must be alone in its level (level ${i + 1} is "${shown(level)}")`;
  }
  return null;
}

function shown(level: string): string {
  return level.length > 40 ? `${level.slice(0, 40)}…` : level;
}
