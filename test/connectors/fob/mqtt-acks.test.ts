import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttFobTransport } from '../../../connectors/fob/mqtt/transport.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { configWith } from '../../helpers/config.ts';
import { TEST_MQTT_URL, uniqueName } from '../../helpers/services.ts';

/**
 * PUBACKs per message after its own write, without head-of-line blocking: while one message's
 * write is held, the next messages on the same connection are already being written; no PUBACK goes
 * out before its write, and they go out in the order the messages came.
 */
const id = uniqueName('mqttacks');
const topicRoot = `doorstep-test/${id}`;
const school = configWith({
  school: `    fobs:
      transports:
        - { kind: mqtt, url: "${TEST_MQTT_URL}", topics: ["${topicRoot}/fobs/+/events"], clientId: "${id.slice(0, 40)}" }
`,
}).schools[0]!;
const transportConfig = school.fobs.transports[0]! as Extract<
  (typeof school.fobs.transports)[number],
  { kind: 'mqtt' }
>;
let publisher: MqttClient;

beforeAll(async () => {
  publisher = await mqtt.connectAsync(TEST_MQTT_URL, { clientId: `${id}-pub`.slice(0, 60) });
});
afterAll(async () => {
  await publisher.endAsync();
});

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('MQTT acknowledgements', () => {
  it('writes the messages behind a held write at once, and acknowledges each only after its write, in order', async () => {
    const held = deferred();
    const started: string[] = [];
    const written: string[] = [];
    const bothBehindStarted = deferred();
    const t = new MqttFobTransport({
      schoolId: 'alpha',
      transport: transportConfig,
      clientId: id.slice(0, 40),
      log: createLogger({ level: 'silent' }),
      accept: async (raw) => {
        const n = String(raw);
        started.push(n);
        if (started.length === 3) bothBehindStarted.resolve();
        if (n === 'm0') await held.promise;
        written.push(n);
      },
    });
    t.start();
    await t.ready;
    // What Doorstep's client sends back to the broker (the publisher's own PUBACK comes from the broker).
    const client = (t as unknown as { client: MqttClient }).client;
    const byId = new Map<number, string>();
    const acked: string[] = [];
    const allAcked = deferred();
    client.on('packetreceive', (p) => {
      if (p.cmd === 'publish') byId.set(p.messageId!, String(p.payload));
    });
    client.on('packetsend', (p) => {
      if (p.cmd !== 'puback') return;
      acked.push(byId.get(p.messageId!)!);
      if (acked.length === 3) allAcked.resolve();
    });
    for (const m of ['m0', 'm1', 'm2'])
      await publisher.publishAsync(`${topicRoot}/fobs/PS-0001/events`, m, { qos: 1 });
    // m1 and m2 reach `accept` while m0's write is still held: no head-of-line blocking.
    await bothBehindStarted.promise;
    expect(started).toEqual(['m0', 'm1', 'm2']);
    await new Promise((r) => setTimeout(r, 200));
    expect(written).toEqual(['m1', 'm2']);
    // Written, but not acknowledged: m0 came first and is not written yet.
    expect(acked).toEqual([]);
    held.resolve();
    await allAcked.promise;
    expect(written).toEqual(['m1', 'm2', 'm0']);
    expect(acked).toEqual(['m0', 'm1', 'm2']);
    await t.stop();
  });

  it('keeps trying a QoS 0 message until it is stored, without holding up what comes after it', async () => {
    // A gateway publishing at QoS 0 (many SDKs' default) while its write fails (the database away, a
    // restart or a failover): a QoS 1 message is left to the broker's redelivery after five tries;
    // this one is the only copy there is. Meanwhile a QoS 1 SOS behind it on the connection is taken.
    let tries = 0;
    const sixFailed = deferred();
    const laterStored = deferred();
    const stored = deferred();
    let qos0Writes = false;
    const t = new MqttFobTransport({
      schoolId: 'alpha',
      transport: transportConfig,
      clientId: `${id.slice(0, 36)}-q0`,
      log: createLogger({ level: 'silent' }),
      accept: async (raw) => {
        const what = String(raw);
        if (what === 'later sos at qos 1') return laterStored.resolve();
        if (!qos0Writes) {
          tries++;
          if (tries === 6) sixFailed.resolve();
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        }
        expect(what).toBe('sos at qos 0');
        stored.resolve();
      },
    });
    t.start();
    await t.ready;
    await publisher.publishAsync(`${topicRoot}/fobs/PS-0002/events`, 'sos at qos 0', { qos: 0 });
    await publisher.publishAsync(`${topicRoot}/fobs/PS-0003/events`, 'later sos at qos 1', { qos: 1 });
    await laterStored.promise;
    await sixFailed.promise;
    qos0Writes = true;
    await stored.promise;
    await t.stop();
  }, 60_000);
});
