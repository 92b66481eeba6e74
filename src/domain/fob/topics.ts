import { DEVICE_ID_MAX } from './event.ts';

/**
 * Which level of an MQTT topic filter names the device: the level written `{device}`, else the
 * filter's only `+`. Null when the filter cannot say (no single-level wildcard, several without a
 * marker, or `{device}` beside a `#`).
 */
export function deviceLevel(filter: string): number | null {
  const levels = filter.split('/');
  const marked = levels.flatMap((l, i) => (l === '{device}' ? [i] : []));
  if (marked.length === 1) return filter.includes('#') ? null : marked[0]!;
  if (marked.length > 1) return null;
  const plus = levels.flatMap((l, i) => (l === '+' ? [i] : []));
  return plus.length === 1 ? plus[0]! : null;
}

/** The filter as subscribed: `{device}` becomes `+`. */
export function subscriptionFilter(filter: string): string {
  return filter
    .split('/')
    .map((l) => (l === '{device}' ? '+' : l))
    .join('/');
}

/** Whether `topic` matches the MQTT filter (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = subscriptionFilter(filter).split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * The device a message's topic names, from the first of `filters` that matches it and marks a
 * device level; null when none does.
 */
export function deviceFromTopic(filters: readonly string[], topic: string): string | null {
  for (const filter of filters) {
    const level = deviceLevel(filter);
    if (level === null || !topicMatches(filter, topic)) continue;
    const device = topic.split('/')[level];
    if (device) return device;
  }
  return null;
}

/**
 * Why a topic's device level cannot name a device, or null when it can. A topic is as hostile as a
 * payload (MQTT allows 64 KB): a level that is empty, longer than a device id may be (the payload's
 * own bound), or holds characters no device id has (control characters, U+FFFD from bytes that were
 * not UTF-8, a lone surrogate) is no device the transport can vouch for. A bound and one scan of at
 * most DEVICE_ID_MAX characters: cheap enough for every event.
 */
export function unusableDeviceLevel(level: string): string | null {
  if (level.length === 0) return 'its device level is empty';
  if (level.length > DEVICE_ID_MAX)
    return `its device level is ${level.length} characters long, over the ${DEVICE_ID_MAX} a device id may have`;
  if (/[\p{Cc}\uFFFD]/u.test(level) || !level.isWellFormed())
    return 'its device level holds characters no device id has';
  return null;
}
