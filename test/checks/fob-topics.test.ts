import { describe, expect, it } from 'vitest';
import { gatewayTopicGaps } from '../../src/checks/fob-topics.ts';
import { configWith } from '../helpers/config.ts';

/**
 * A gateway's feed (`deviceBinding: none`) raises a body it cannot read as an SOS (it may be a
 * worker's, cut short), so a wildcard filter that takes in the gateway's own status topic would page
 * for its last will ("offline"). `doorstep check` and the data page say so.
 */
const schoolWith = (transport: string) =>
  configWith({
    school: `    fobs:
      transports:
        - ${transport}
`,
  }).schools[0]!;

describe("doorstep check: a gateway's feed subscribed with a wildcard", () => {
  it('warns of # and + in a deviceBinding: none filter, saying to subscribe to the events topic only', () => {
    const gaps = gatewayTopicGaps(
      schoolWith(
        '{ kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["gw/alpha/#", "gw/+/events", "gw/alpha/events"], deviceBinding: none }',
      ),
    );
    expect(gaps).toEqual([
      expect.stringMatching(
        /^fobs\.transports\[0\]\.topics\[0\] \(mqtt, deviceBinding: none\) is gw\/alpha\/#, with #:/,
      ),
      expect.stringMatching(/^fobs\.transports\[0\]\.topics\[1\] .* is gw\/\+\/events, with \+:/),
    ]);
    for (const g of gaps)
      expect(g).toContain(
        'subscribe to the gateway\'s events topic only — its status and will messages (a plain-text "offline" or "online", a retained status) on the topics it matches would be raised as SOS',
      );
  });

  it('is quiet for a gateway subscribed to its events topic, and for feeds whose topics name the device', () => {
    expect(
      gatewayTopicGaps(
        schoolWith(
          '{ kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["gw/alpha/events"], deviceBinding: none }',
        ),
      ),
    ).toEqual([]);
    expect(
      gatewayTopicGaps(
        schoolWith(
          '{ kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }',
        ),
      ),
    ).toEqual([]);
  });
});
