import { describe, expect, it } from 'vitest';
import { genericTypeGaps } from '../../src/checks/fob-types.ts';
import { configWith } from '../helpers/config.ts';

/**
 * A `generic` feed raises every type its map does not name (when in doubt, raise). `doorstep check`
 * says where that may surprise: no `notAlarms` (heartbeats would page), or the opt-out (`refuse`).
 */
const schoolWith = (extra: string) =>
  configWith({
    school: `    fobs:
      transports:
        - kind: mqtt
          url: "mqtt://127.0.0.1:1883"
          topics: ["doorstep/alpha/fobs/{device}/events"]
          profile: generic
          mapping:
            fields: { deviceId: /dev, vendorEventId: /id, type: /kind, occurredAt: /at }
            types: { PANIC: sos }
${extra}`,
  }).schools[0]!;

describe('doorstep check: what a generic feed does with an unmapped type', () => {
  it('warns of a map with no notAlarms (each heartbeat would page) and of the refuse opt-out', () => {
    expect(genericTypeGaps(schoolWith(''))).toEqual([
      expect.stringMatching(
        /^fobs\.transports\[0\] \(mqtt, generic\) lists no notAlarms — .* raised as an SOS/,
      ),
    ]);
    expect(genericTypeGaps(schoolWith('            unmappedTypes: refuse\n'))).toEqual([
      expect.stringMatching(/sets unmappedTypes: refuse — .* pages no one/),
    ]);
  });

  it('says what neither setting stops: a message with no type, which the gateway must send or the map point at', () => {
    for (const extra of ['', '            unmappedTypes: refuse\n'])
      expect(genericTypeGaps(schoolWith(extra))).toEqual([
        expect.stringContaining(
          'a message with no type at /kind is raised as an SOS whatever notAlarms or unmappedTypes say (one open alarm per device at a time, the next ones noted on it until it is acknowledged): the gateway must send a type with every message (then list or map it), or fields.type must point at a field its heartbeats and positions carry',
        ),
      ]);
  });

  it('is quiet where the school lists what is no alarm, and for other profiles', () => {
    expect(genericTypeGaps(schoolWith('            notAlarms: [HB, POSITION]\n'))).toEqual([]);
    const ps = configWith({
      school: `    fobs:
      transports:
        - { kind: mqtt, url: "mqtt://127.0.0.1:1883", topics: ["doorstep/alpha/fobs/{device}/events"] }
`,
    }).schools[0]!;
    expect(genericTypeGaps(ps)).toEqual([]);
  });
});
