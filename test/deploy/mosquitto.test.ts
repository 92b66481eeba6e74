import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mosquittoInstalled, type ShippedBroker, startShippedBroker } from './shipped-broker.ts';

const installed = mosquittoInstalled();
if (!installed)
  console.warn(
    'test/deploy/mosquitto.test.ts skipped: mosquitto is not installed (apt-get install mosquitto)',
  );

const A = 'school-a';
const B = 'school-b';
const topic = (school: string, device = 'PS-0001') => `doorstep/${school}/fobs/${device}/events`;

type Attempt =
  | { client: MqttClient; error?: undefined }
  | { client?: undefined; error: Error & { code?: unknown } };

/** One connection attempt without retries: the connected client, or the reason it was refused. */
function attempt(url: string, options: IClientOptions = {}): Promise<Attempt> {
  return new Promise((done) => {
    let settled = false;
    const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, clean: true, ...options });
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      client.end(true);
      done({ error });
    };
    client.on('error', fail);
    client.on('close', () => fail(new Error('closed without CONNACK')));
    client.once('connect', () => {
      settled = true;
      done({ client });
    });
  });
}

async function connected(url: string, options: IClientOptions): Promise<MqttClient> {
  const r = await attempt(url, options);
  if (r.error) throw r.error;
  return r.client;
}

/** What a client receives, in order, and a way to wait (on the messages, not a clock) for the n-th. */
function inbox(client: MqttClient): { got: string[]; count: (n: number) => Promise<string[]> } {
  const got: string[] = [];
  const waiting: { n: number; done: (got: string[]) => void }[] = [];
  client.on('message', (t, payload) => {
    got.push(`${t} ${String(payload)}`);
    for (const w of waiting.filter((w) => got.length >= w.n)) w.done(got);
  });
  const count = (n: number) =>
    got.length >= n ? Promise.resolve(got) : new Promise<string[]>((done) => waiting.push({ n, done }));
  return { got, count };
}

/**
 * A QoS 1 round trip on `client`'s own connection. Mosquitto routes a PUBLISH to every subscriber
 * before it acknowledges it, and writes to each connection in order, so anything routed to `client`
 * before this round trip began has been received by the time it ends: no waiting on a clock.
 */
async function roundTrip(client: MqttClient, own: string): Promise<void> {
  await client.publishAsync(own, 'marker', { qos: 1 });
}

/**
 * The PUBACK reason code for one QoS 1 publish, on a connection of its own (Mosquitto 2.0 may close
 * a connection after refusing a publish).
 */
async function publishAs(
  url: string,
  who: { username: string; password: string },
  to: string,
  payload: string,
): Promise<number | 'accepted'> {
  const client = await connected(url, who);
  try {
    await client.publishAsync(to, payload, { qos: 1 });
    return 'accepted';
  } catch (err) {
    return (err as { code: number }).code;
  } finally {
    client.end(true);
  }
}

describe('docker-compose.yml', () => {
  it('publishes only the TLS port of the broker, and no service publishes plaintext MQTT', () => {
    const compose = parse(readFileSync(resolve(import.meta.dirname, '../../docker-compose.yml'), 'utf8')) as {
      services: Record<string, { ports?: string[]; volumes?: string[] }>;
    };
    expect(compose.services.mosquitto?.ports).toEqual(['8883:8883']);
    for (const [name, s] of Object.entries(compose.services)) {
      for (const p of s.ports ?? []) expect(`${name} ${p}`).not.toMatch(/:1883$/);
    }
    expect(compose.services.mosquitto?.volumes).toContain(
      './deploy/mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro',
    );
    expect(compose.services.mosquitto?.volumes).toContain('./deploy/mosquitto/secrets:/mosquitto/secrets');
  });
});

// Skipped only where the mosquitto binary is absent: the shipped config is proved on a private
// broker started from it. CI installs it (.ci/run), so there they always run.
describe.skipIf(!installed)('the shipped broker (deploy/mosquitto, private instance)', () => {
  let broker: ShippedBroker;
  const open: MqttClient[] = [];
  const as = async (url: string, who: { username: string; password: string }, extra: IClientOptions = {}) => {
    const c = await connected(url, { ...who, ...extra });
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await startShippedBroker([A, B]);
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.endAsync(true)));
    await broker?.stop();
  });

  it('refuses anonymous clients on both listeners (CONNACK 0x87 not authorised)', async () => {
    const plain = await attempt(broker.plainUrl);
    expect(plain.error?.code).toBe(0x87);
    const tls = await attempt(broker.tlsUrl, { ca: readFileSync(broker.caFile) });
    expect(tls.error?.code).toBe(0x87);
  });

  it("refuses a wrong password, and a gateway's password for Doorstep's user", async () => {
    // Mosquitto 2.0 answers a bad password with 0x87 not authorised; 0x86 is the other refusal allowed.
    const wrong = await attempt(broker.plainUrl, { username: 'doorstep', password: 'not-the-password' });
    expect([0x86, 0x87]).toContain(wrong.error?.code);
    const swapped = await attempt(broker.plainUrl, {
      username: 'doorstep',
      password: broker.gateway(A).password,
    });
    expect([0x86, 0x87]).toContain(swapped.error?.code);
  });

  it("lets school A's gateway publish only to A's topics, and Doorstep receives only those", async () => {
    const doorstep = await as(broker.plainUrl, broker.doorstep);
    const seen = inbox(doorstep);
    await doorstep.subscribeAsync('doorstep/+/fobs/+/events', { qos: 1 });
    const url = broker.plainUrl;

    // Forging an event for school B: refused with PUBACK 0x87, under any device id.
    expect(await publishAs(url, broker.gateway(A), topic(B), 'forged SOS for B')).toBe(0x87);
    expect(await publishAs(url, broker.gateway(A), topic(B, 'PS-9999'), 'forged SOS for B')).toBe(0x87);
    // Nor anywhere outside its own fob topics, and Doorstep itself publishes nothing.
    expect(await publishAs(url, broker.gateway(A), `doorstep/${A}/other`, 'x')).toBe(0x87);
    expect(await publishAs(url, broker.gateway(A), 'elsewhere', 'x')).toBe(0x87);
    expect(await publishAs(url, broker.doorstep, topic(A), 'from Doorstep')).toBe(0x87);
    // Its own topic is accepted, and routed after every refusal above: once Doorstep has it, anything
    // that had got through would have arrived before it.
    expect(await publishAs(url, broker.gateway(A), topic(A), 'SOS from A')).toBe('accepted');
    expect(await seen.count(1)).toEqual([`${topic(A)} SOS from A`]);
  });

  it('drops a publish over 1 MiB (the largest maxBytes), acknowledged so that it is not resent, and passes one of 1 MiB', async () => {
    const doorstep = await as(broker.plainUrl, broker.doorstep);
    const seen = inbox(doorstep);
    const to = topic(A, 'BIG-1');
    await doorstep.subscribeAsync(to, { qos: 1 });
    // An MQTT 3.1.1 gateway: acknowledged — its session holds nothing to resend, its later alarms are
    // not held behind it — and the connection closed (Mosquitto 2.0).
    const gateway = await connected(broker.plainUrl, { ...broker.gateway(A), protocolVersion: 4 });
    const closed = new Promise<void>((done) => gateway.once('close', () => done()));
    await gateway.publishAsync(to, 'x'.repeat(1_048_577), { qos: 1 });
    await closed;
    gateway.end(true);
    expect(await publishAs(broker.plainUrl, broker.gateway(A), to, 'y'.repeat(1_048_576))).toBe('accepted');
    // Routed in order: had the larger one got through, it would have arrived first.
    const got = await seen.count(1);
    expect(got.map((m) => [m.slice(0, to.length + 2), m.length])).toEqual([
      [`${to} y`, to.length + 1 + 1_048_576],
    ]);
  });

  it("gives a gateway nothing to read: not its own school's events, not another's, not $SYS", async () => {
    const doorstep = await as(broker.plainUrl, broker.doorstep);
    const doorstepSeen = inbox(doorstep);
    await doorstep.subscribeAsync('doorstep/+/fobs/+/events', { qos: 1 });
    const gatewayA = await as(broker.plainUrl, broker.gateway(A));
    const gatewayB = await as(broker.plainUrl, broker.gateway(B));
    const readByA = inbox(gatewayA);
    // Mosquitto's acl_file does not refuse a SUBSCRIBE (its SUBACK grants it): what it enforces is
    // that nothing is delivered to a client without read access, which is what matters.
    await gatewayA.subscribeAsync(['#', '$SYS/#', 'doorstep/+/fobs/+/events', topic(A)], { qos: 1 });

    await gatewayA.publishAsync(topic(A), 'A own event', { qos: 1 });
    await gatewayB.publishAsync(topic(B), 'B event', { qos: 1 });
    await roundTrip(gatewayA, topic(A, 'PS-0002'));
    expect(readByA.got).toEqual([]);

    // The same messages did reach the one reader allowed, so the routing above was real.
    expect(await doorstepSeen.count(3)).toEqual([
      `${topic(A)} A own event`,
      `${topic(B)} B event`,
      `${topic(A, 'PS-0002')} marker`,
    ]);
  });

  it('serves TLS with the generated CA, and refuses plaintext MQTT or an untrusted certificate there', async () => {
    const ca = readFileSync(broker.caFile);
    const doorstep = await as(broker.tlsUrl, broker.doorstep, { ca });
    const seen = inbox(doorstep);
    await doorstep.subscribeAsync(`doorstep/${A}/fobs/+/events`, { qos: 1 });
    const gatewayA = await as(broker.tlsUrl, broker.gateway(A), { ca });
    await gatewayA.publishAsync(topic(A), 'SOS over TLS', { qos: 1 });
    expect(await seen.count(1)).toEqual([`${topic(A)} SOS over TLS`]);

    const tlsPort = new URL(broker.tlsUrl).port;
    const plaintext = await attempt(`mqtt://127.0.0.1:${tlsPort}`, broker.doorstep);
    expect(plaintext.client).toBeUndefined();
    expect(plaintext.error).toBeDefined();

    const untrusted = await attempt(broker.tlsUrl, broker.doorstep); // the system CAs only
    expect(untrusted.client).toBeUndefined();
    expect(String(untrusted.error?.code)).toMatch(/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/);
  });
});
