import { describe, expect, it } from 'vitest';
import { mqttPlaintextGaps } from '../../src/checks/mqtt-plaintext.ts';
import { configWith } from '../helpers/config.ts';

/**
 * A fob feed to a remote broker over plain mqtt:// or ws:// sends the broker password and every
 * alarm in the clear. `doorstep check` warns of it (the config still loads): on this machine or a
 * compose network it is fine.
 */
const schoolWith = (...urls: string[]) =>
  configWith({
    env: { MQTT_PASSWORD: 'correct-horse-battery-staple' },
    school: `    fobs:
      transports:
${urls
  .map(
    (url, i) =>
      `        - { kind: mqtt, url: "${url}", username: doorstep, password: "\${MQTT_PASSWORD}", topics: ["doorstep/alpha/fobs${i}/{device}/events"] }\n`,
  )
  .join('')}`,
  }).schools[0]!;

describe('doorstep check: a fob feed to a remote broker without TLS', () => {
  it('warns of mqtt:// and ws:// to a host off this machine, naming the transport, host and what to use', () => {
    const gaps = mqttPlaintextGaps(
      schoolWith('mqtt://broker.example.org:1883', 'ws://broker.example.org:8080', 'mqtt://10.0.0.5'),
    );
    expect(gaps).toEqual([
      "fobs.transports[0] (mqtt) connects to broker.example.org over mqtt://, not encrypted: its password and every alarm and check-in cross the network readable, and anyone on the way could change them — use mqtts:// (with tls where the broker's certificate needs its own CA)",
      expect.stringMatching(
        /^fobs\.transports\[1\] \(mqtt\) connects to broker\.example\.org over ws:\/\/, .* use wss:\/\//,
      ),
      expect.stringMatching(/^fobs\.transports\[2\] \(mqtt\) connects to 10\.0\.0\.5 over mqtt:\/\//),
    ]);
    for (const g of gaps) expect(g).not.toContain('correct-horse');
  });

  it('is quiet for TLS, for a broker on this machine, and for a compose service name', () => {
    expect(
      mqttPlaintextGaps(
        schoolWith(
          'mqtts://broker.example.org:8883',
          'wss://broker.example.org/mqtt',
          'mqtt://127.0.0.1:1883',
          'mqtt://localhost:1883',
          'ws://[::1]:8080',
          'mqtt://mosquitto:1883',
        ),
      ),
    ).toEqual([]);
  });
});
