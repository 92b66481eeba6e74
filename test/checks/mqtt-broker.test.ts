import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeMqttUrl, mqttChecks } from '../../src/checks/mqtt-broker.ts';
import { checkCommand } from '../../src/cli/check-command.ts';
import type { SchoolConfig } from '../../src/config/schema.ts';
import { mosquittoInstalled, type ShippedBroker, startShippedBroker } from '../deploy/shipped-broker.ts';
import { configWith } from '../helpers/config.ts';
import { TEST_MQTT_URL, TEST_REDIS_URL, uniqueName } from '../helpers/services.ts';

const installed = mosquittoInstalled();
if (!installed) {
  console.warn(
    'test/checks/mqtt-broker.test.ts: the secured-broker cases are skipped: mosquitto is not installed',
  );
}

/** A one-school config whose fobs are the given MQTT transports. */
function schoolWith(transports: string[]): SchoolConfig {
  return configWith({
    school: `    fobs:\n      transports:\n${transports.join('\n')}\n`,
  }).schools[0]!;
}

/** One MQTT transport as YAML (a list item at 8 spaces). */
function mqttTransport(o: {
  url: string;
  topic: string;
  username?: string;
  passwordFile?: string;
  ca?: string;
  clientId?: string;
}): string {
  return [
    `        - kind: mqtt`,
    `          url: ${o.url}`,
    `          topics: ["${o.topic}"]`,
    ...(o.username ? [`          username: ${o.username}`] : []),
    ...(o.passwordFile ? [`          password: file:${o.passwordFile}`] : []),
    ...(o.ca ? [`          tls: { ca: ${o.ca} }`] : []),
    ...(o.clientId ? [`          clientId: ${o.clientId}`] : []),
  ].join('\n');
}

async function run(school: SchoolConfig) {
  return Promise.all(mqttChecks(school).map((c) => c()));
}

const openTopic = () => `doorstep/${uniqueName('mqttcheck').replace(/_/g, '-')}/fobs/+/events`;

describe('describeMqttUrl', () => {
  it('shows scheme, host, port and a WebSocket path, never credentials', () => {
    expect(describeMqttUrl('mqtts://doorstep:s3cret@broker.example.org:8883')).toBe(
      'mqtts://broker.example.org:8883',
    );
    expect(describeMqttUrl('wss://u:p@broker.example.org/mqtt?token=abc')).toBe(
      'wss://broker.example.org/mqtt',
    );
  });
});

describe('the MQTT check on the shared broker (anonymous access allowed)', () => {
  it('connects and subscribes at QoS 1, and warns (without failing) that anonymous clients get in', async () => {
    const topic = openTopic();
    const [creds, anon] = await run(schoolWith([mqttTransport({ url: TEST_MQTT_URL, topic })]));
    expect(creds).toEqual({
      name: 'alpha mqtt',
      ok: true,
      detail: `${TEST_MQTT_URL} without a username: connected and subscribed at QoS 1 to ${topic}`,
    });
    expect(anon).toEqual({
      name: 'alpha mqtt anonymous',
      ok: true,
      warning: true,
      detail: `${TEST_MQTT_URL} accepts anonymous clients: anyone who can reach it can publish fob events and read them; set allow_anonymous false with a password file and an ACL (see deploy/mosquitto)`,
    });
  });

  it("uses a throwaway client id, so Doorstep's own session is not taken over", async () => {
    const clientId = uniqueName('own').replace(/_/g, '-').slice(0, 60);
    const own = await mqtt.connectAsync(
      TEST_MQTT_URL,
      {
        clientId,
        clean: false,
        protocolVersion: 5,
        reconnectPeriod: 0,
        properties: { sessionExpiryInterval: 60 },
      },
      false,
    );
    const lost: string[] = [];
    own.on('disconnect', (p) => lost.push(`disconnect ${p.reasonCode}`));
    const closed = new Promise<void>((done) =>
      own.on('close', () => {
        lost.push('close');
        done();
      }),
    );
    try {
      const topic = openTopic();
      const results = await run(schoolWith([mqttTransport({ url: TEST_MQTT_URL, topic, clientId })]));
      expect(results.map((r) => r.ok)).toEqual([true, true]);
      // A take-over is sent to the old connection before the new one is accepted, so this round trip
      // on it, after both checks connected, would have met it.
      await Promise.race([own.subscribeAsync(topic, { qos: 1 }), closed]);
      expect(lost).toEqual([]);
    } finally {
      await own.endAsync(true);
    }
  });
});

// Skipped only where the mosquitto binary is absent: these tests start a private broker from the
// shipped config. CI installs it (.ci/run), so there they always run.
describe.skipIf(!installed)('the MQTT check on a secured broker (deploy/mosquitto, private instance)', () => {
  let broker: ShippedBroker;
  let dir: string;
  const topic = 'doorstep/alpha/fobs/+/events';

  beforeAll(async () => {
    broker = await startShippedBroker(['alpha']);
    dir = mkdtempSync(join(tmpdir(), 'doorstep-mqtt-check-'));
    writeFileSync(join(dir, 'wrong.password'), 'not-the-password\n');
  });
  afterAll(async () => {
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports the credentials ok and that anonymous clients are refused, on plaintext and TLS', async () => {
    const doorstep = { username: 'doorstep', passwordFile: broker.doorstep.passwordFile };
    const school = schoolWith([
      mqttTransport({ url: broker.plainUrl, topic, ...doorstep }),
      mqttTransport({ url: broker.tlsUrl, topic, ...doorstep, ca: broker.caFile }),
    ]);
    expect(await run(school)).toEqual([
      {
        name: 'alpha mqtt[0]',
        ok: true,
        detail: `${broker.plainUrl} as doorstep: connected and subscribed at QoS 1 to ${topic}`,
      },
      {
        name: 'alpha mqtt[0] anonymous',
        ok: true,
        detail: `${broker.plainUrl} refuses anonymous clients (Connection refused: Not authorized (reason code 0x87))`,
      },
      {
        name: 'alpha mqtt[1]',
        ok: true,
        detail: `${broker.tlsUrl} as doorstep: connected and subscribed at QoS 1 to ${topic}`,
      },
      {
        name: 'alpha mqtt[1] anonymous',
        ok: true,
        detail: `${broker.tlsUrl} refuses anonymous clients (Connection refused: Not authorized (reason code 0x87))`,
      },
    ]);
  });

  it('fails a wrong password in one line naming the URL, without the password', async () => {
    const wrong = join(dir, 'wrong.password');
    const [creds] = await run(
      schoolWith([mqttTransport({ url: broker.plainUrl, topic, username: 'doorstep', passwordFile: wrong })]),
    );
    expect(creds!.ok).toBe(false);
    expect(creds!.detail).toMatch(
      new RegExp(`^${broker.plainUrl} as doorstep: .*\\(reason code 0x8[67]\\)$`),
    );
    expect(creds!.detail).not.toContain('not-the-password');
  });

  it('fails TLS without the CA that signed the broker certificate', async () => {
    const [creds] = await run(
      schoolWith([
        mqttTransport({
          url: broker.tlsUrl,
          topic,
          username: 'doorstep',
          passwordFile: broker.doorstep.passwordFile,
        }),
      ]),
    );
    expect(creds!.ok).toBe(false);
    expect(creds!.detail).toMatch(
      new RegExp(`^${broker.tlsUrl} as doorstep: .*(self-signed|issuer|verify)`, 'i'),
    );
  });

  it('`doorstep check` prints each MQTT result, warns about an open broker, and exits 3 only on a failure', async () => {
    const data = join(dir, 'data');
    mkdirSync(join(data, 'drop'), { recursive: true });
    const config = (passwordFile: string) => {
      const file = join(dir, `${uniqueName('config')}.yaml`);
      writeFileSync(
        file,
        `
trust: { id: test-trust, name: Test Trust }
redis: { url: "${TEST_REDIS_URL}", prefix: ${uniqueName('check').replace(/_/g, '-')} }
store: { dataDir: "${data}/pglite" }
schools:
  - id: alpha
    name: Alpha Primary
    mis: { kind: csv, dropFolder: ${data}/drop }
    records: { sink: preview }
    policies: [statutory]
    fobs:
      transports:
${mqttTransport({ url: broker.tlsUrl, topic, username: 'doorstep', passwordFile, ca: broker.caFile })}
${mqttTransport({ url: TEST_MQTT_URL, topic: openTopic() })}
`,
      );
      return file;
    };
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL; // the embedded store's folder check, not PostgreSQL
    try {
      const lines: string[] = [];
      const code = await checkCommand({ config: config(broker.doorstep.passwordFile) }, (l) => lines.push(l));
      expect(lines.filter((l) => l.includes(' alpha mqtt')).map((l) => l.split(': ')[0])).toEqual([
        '  ok   alpha mqtt[0]',
        '  ok   alpha mqtt[0] anonymous',
        '  ok   alpha mqtt[1]',
        '  WARN alpha mqtt[1] anonymous',
      ]);
      expect(lines.filter((l) => l.includes('FAIL'))).toEqual([]);
      expect(code).toBe(0); // a warning does not fail the check

      const failing: string[] = [];
      const failed = await checkCommand({ config: config(join(dir, 'wrong.password')) }, (l) =>
        failing.push(l),
      );
      expect(failing.filter((l) => l.includes('FAIL'))).toEqual([
        expect.stringMatching(new RegExp(`^ {2}FAIL alpha mqtt\\[0\\]: ${broker.tlsUrl} as doorstep: `)),
      ]);
      expect(failed).toBe(3);
      expect(failing.join('\n')).not.toContain('not-the-password');
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });
});
