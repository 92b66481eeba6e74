import type { SchoolConfig } from '../config/schema.ts';

/**
 * A gateway's MQTT feed whose topics name no device (`deviceBinding: none`) subscribed with a wildcard
 * (`#`, `+`, or a `{device}` level, subscribed as `+`): every message on the matched topics is taken
 * as an event, and one that cannot be read is raised as an SOS (when in doubt, raise: it may be a
 * worker's SOS the gateway cut short) — so the gateway's own status topic, its plain-text last will
 * and birth messages ("offline", "online") and any retained status there, would page as an SOS. Said,
 * with what to do: subscribe to the gateway's events topic only. The feed is not refused, nor the
 * unreadable body: a gateway that publishes nothing else under the filter is fine.
 */
export function gatewayTopicGaps(s: SchoolConfig): string[] {
  const gaps: string[] = [];
  s.fobs.transports.forEach((t, i) => {
    if (t.kind !== 'mqtt' || t.deviceBinding !== 'none') return;
    t.topics.forEach((filter, j) => {
      const wild = filter.split('/').filter((l) => l === '#' || l === '+' || l === '{device}');
      if (wild.length === 0) return;
      gaps.push(
        `fobs.transports[${i}].topics[${j}] (mqtt, deviceBinding: none) is ${filter}, with ${[...new Set(wild)].join(' and ')}: subscribe to the gateway's events topic only — its status and will messages (a plain-text "offline" or "online", a retained status) on the topics it matches would be raised as SOS, since a body Doorstep cannot read on a gateway's feed is raised as one`,
      );
    });
  });
  return gaps;
}
