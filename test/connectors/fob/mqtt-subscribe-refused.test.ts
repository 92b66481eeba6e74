import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttFobTransport, type MqttStatus } from '../../../connectors/fob/mqtt/transport.ts';
import { startMqttFeed } from '../../../src/alarms/fob-feeds.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { configWith } from '../../helpers/config.ts';
import { startPrivateMosquitto } from '../../helpers/private-broker.ts';
import { TEST_MQTT_URL, uniqueName } from '../../helpers/services.ts';
import { freePort } from '../../helpers/spawn.ts';
import { storeAndQueue } from '../../helpers/store-queue.ts';
import { until } from '../../helpers/wait.ts';

const log = createLogger({ level: 'silent' });
const mqttSchool = (url: string, topics: string[], extra = '') =>
  configWith({
    school: `    fobs:
      transports:
        - { kind: mqtt, url: "${url}", topics: ${JSON.stringify(topics)}${extra} }
      devices:
        - { deviceId: PS-0001, staffId: s-1 }
`,
  }).schools[0]!;
type MqttT = Extract<ReturnType<typeof mqttSchool>['fobs']['transports'][number], { kind: 'mqtt' }>;

describe('a topic filter MQTT does not allow', () => {
  it.each([
    ['doorstep/alpha/fo+bs/{device}/events', `'+' must be alone in its level (level 3 is "fo+bs")`],
    ['doorstep/#/{device}', `'#' must be the last level and alone in it (level 2 is "#")`],
    ['doorstep/{device}/events#', `'#' must be the last level and alone in it (level 3 is "events#")`],
    ['doorstep/{device}/\u0000', 'it holds the NUL character (U+0000), which no filter may'],
    [`doorstep/{device}/${'é'.repeat(33_000)}`, 'it is 66011 bytes of UTF-8, over the 65535 a filter may be'],
  ])('is refused by the config, naming the field and the rule: %#', (filter, rule) => {
    expect(() => mqttSchool(TEST_MQTT_URL, ['doorstep/ok/{device}/events', filter])).toThrow(
      `schools[0].fobs.transports[0].topics[1]: not an MQTT topic filter: ${rule}`,
    );
  });

  it('a filter that is one is taken (its device level, + and # in their places)', () => {
    for (const f of ['doorstep/{device}/events', 'doorstep/+/events', 'doorstep/alpha/fobs/+', 'a//+/b'])
      expect(() => mqttSchool(TEST_MQTT_URL, [f])).not.toThrow();
    expect(() => mqttSchool(TEST_MQTT_URL, ['doorstep/alpha/#'], ', deviceBinding: none')).not.toThrow();
  });

  it('one the client library refuses, given all the same, says the feed is down with why', async () => {
    const transport = {
      ...(mqttSchool(TEST_MQTT_URL, ['doorstep/x/{device}/events']).fobs.transports[0] as MqttT),
      topics: ['doorstep/x/fo+bs/{device}/events'],
    };
    const statuses: MqttStatus[] = [];
    const t = new MqttFobTransport({
      schoolId: 'alpha',
      transport,
      clientId: uniqueName('subrefused').slice(0, 40),
      accept: async () => {},
      onStatus: (st) => statuses.push(st),
      log,
    });
    t.start();
    await expect(t.ready).rejects.toThrow(/Invalid topic/);
    await t.stop();
    expect(statuses).toEqual([
      {
        state: 'down',
        takenOver: false,
        reason:
          'Doorstep could not subscribe to its fob topics (Invalid topic doorstep/x/fo+bs/+/events): no fob event can arrive — check fobs.transports[].topics',
      },
    ]);
  });
});

/**
 * A subscription the broker refuses (SUBACK 0x87, not authorized): a Mosquitto of its own whose
 * dynamic-security plugin denies anonymous clients the `refused/` topics. The feed connects, and
 * without this would look up while nothing can arrive on it.
 */
const DYNSEC = [
  '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/mosquitto_dynamic_security.so',
  '/usr/local/lib/mosquitto_dynamic_security.so',
].find((p) => existsSync(p));
const q = storeAndQueue('sub_refused');
const root = `doorstep-test/${uniqueName('subref')}`;
let broker: { url: string; stop: () => Promise<void> };
let port: number;
const denying = () => {
  const dir = mkdtempSync(join(tmpdir(), 'doorstep-dynsec-'));
  const file = join(dir, 'dynsec.json');
  writeFileSync(
    file,
    JSON.stringify({
      defaultACLAccess: {
        publishClientSend: true,
        publishClientReceive: true,
        subscribe: true,
        unsubscribe: true,
      },
      clients: [],
      groups: [{ groupname: 'anon', roles: [{ rolename: 'no-refused' }], clients: [] }],
      anonymousGroup: 'anon',
      roles: [
        {
          rolename: 'no-refused',
          acls: [{ acltype: 'subscribePattern', topic: `${root}/refused/#`, priority: 0, allow: false }],
        },
      ],
    }),
  );
  // Mosquitto started as root reads it as its own user: an unreadable one would refuse everything.
  chmodSync(dir, 0o755);
  chmodSync(file, 0o644);
  return [`plugin ${DYNSEC}`, `plugin_opt_config_file ${file}`];
};

beforeAll(async () => {
  if (!DYNSEC) return;
  port = await freePort();
  broker = await startPrivateMosquitto(port, denying());
});
afterAll(async () => {
  await broker?.stop();
});

// Skipped only where Mosquitto's dynamic-security plugin is not installed (it ships with Debian's
// mosquitto package, which CI installs): no other broker setting refuses a subscription — an ACL file
// only filters at delivery — and the filter checks at config load are tested above without it.
describe.skipIf(!DYNSEC)('a subscription the broker refuses', () => {
  it('marks the feed down on the board with why, keeps it down while connected, and up once the broker grants it', async () => {
    const school = mqttSchool(broker.url, [
      `${root}/fobs/{device}/events`,
      `${root}/refused/{device}/events`,
    ]);
    const feed = await startMqttFeed({
      deps: { db: q.db, producer: q.producer, prefix: q.prefix },
      school,
      transport: school.fobs.transports[0] as MqttT,
      log,
      lostSessionShowMs: 200,
      resubscribeRefusedMs: 300,
    });
    await expect(feed.ready).rejects.toThrow(/Not authorized/);
    const status = async () =>
      (
        await q.db.query<{ state: string; reason: string | null }>(
          'SELECT state, reason FROM ingest_status WHERE school_id = $1',
          [school.id],
        )
      ).rows;
    await until(async () => (await status()).length === 1);
    expect(await status()).toEqual([
      {
        state: 'down',
        reason: `the broker refused Doorstep's subscription to ${root}/refused/+/events (not authorized, 0x87): no fob event on it can arrive — check the broker's ACL for Doorstep's user and fobs.transports[].topics`,
      },
    ]);
    const { rows } = await q.db.query<{ reason: string }>(
      `SELECT payload->>'reason' AS reason FROM board_events WHERE type = 'ingest.disconnected'`,
    );
    expect(rows.map((r) => r.reason)).toEqual([expect.stringContaining('refused')]);
    // Asked again while still refused: still down, not said up.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await status())[0]!.state).toBe('down');
    // The broker put right (its ACL gone): the feed comes up, and an SOS on the topic once refused is raised.
    await broker.stop();
    broker = await startPrivateMosquitto(port);
    await until(async () => (await status())[0]!.state === 'up', 15_000, 'the feed up');
    const pub = await mqtt.connectAsync(broker.url, { clientId: uniqueName('subref-pub').slice(0, 40) });
    await pub.publishAsync(
      `${root}/refused/PS-0001/events`,
      JSON.stringify({
        event_id: 'r-1',
        device: { id: 'PS-0001' },
        type: 'SOS',
        occurred_at: new Date().toISOString(),
      }),
      { qos: 1 },
    );
    await until(
      async () => (await q.db.query(`SELECT id FROM alarms WHERE device_id = 'PS-0001'`)).rows.length === 1,
      10_000,
      'the SOS raised',
    );
    await pub.endAsync();
    // The broker restarted with the denial back (its ACL tightened), losing Doorstep's session: the
    // subscription asked for again on the reconnect is refused, and the feed is said down for it —
    // not up because the connection is. An SOS on the topic still granted is raised all the same.
    await broker.stop();
    broker = await startPrivateMosquitto(port, denying());
    await until(
      async () =>
        (await status())[0]!.reason?.includes("the broker refused Doorstep's subscription") === true,
      15_000,
      'the refusal on reconnect said',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(await status()).toEqual([
      {
        state: 'down',
        reason: `the broker refused Doorstep's subscription to ${root}/refused/+/events (not authorized, 0x87): no fob event on it can arrive — check the broker's ACL for Doorstep's user and fobs.transports[].topics`,
      },
    ]);
    const pub2 = await mqtt.connectAsync(broker.url, { clientId: uniqueName('subref-pub').slice(0, 40) });
    await pub2.publishAsync(
      `${root}/fobs/PS-0001/events`,
      JSON.stringify({
        event_id: 'r-2',
        device: { id: 'PS-0001' },
        type: 'SOS',
        occurred_at: new Date().toISOString(),
      }),
      { qos: 1 },
    );
    await until(
      async () => (await q.db.query(`SELECT id FROM alarms WHERE device_id = 'PS-0001'`)).rows.length === 2,
      10_000,
      'the SOS after the reconnect raised',
    );
    await pub2.endAsync();
    await feed.stop();
  }, 60_000);
});

/**
 * A proxy to the test broker that closes the first connection when Doorstep's SUBSCRIBE comes,
 * before the broker answers it (as a network drop would); later connections pass through.
 */
async function dropFirstSubscribe(): Promise<{ url: string; close: () => void }> {
  const target = new URL(TEST_MQTT_URL);
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((client) => {
    const n = ++connections;
    const upstream = createConnection(Number(target.port || 1883), target.hostname);
    sockets.add(client).add(upstream);
    let buf = Buffer.alloc(0);
    client.on('data', (chunk) => {
      if (n > 1) return void upstream.write(chunk);
      buf = Buffer.concat([buf, chunk]);
      // Packet by packet (fixed header: type, then the remaining length as a varint).
      for (;;) {
        let len = 0;
        let mul = 1;
        let i = 1;
        for (; i < buf.length && i < 5; i++) {
          len += (buf[i]! & 0x7f) * mul;
          mul *= 128;
          if ((buf[i]! & 0x80) === 0) break;
        }
        if (i >= buf.length || buf.length < i + 1 + len) return;
        const packet = buf.subarray(0, i + 1 + len);
        buf = buf.subarray(i + 1 + len);
        if (packet[0]! >> 4 === 8) {
          client.destroy();
          upstream.destroy();
          return;
        }
        upstream.write(packet);
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: p } = server.address() as { port: number };
  return {
    url: `mqtt://127.0.0.1:${p}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('a connection lost before the broker answers the subscription', () => {
  it('is not said to be a refused subscription: the feed subscribes on the reconnect and takes SOS', async () => {
    const proxy = await dropFirstSubscribe();
    const topic = `doorstep-test/${uniqueName('subdrop')}`;
    const transport = mqttSchool(proxy.url, [`${topic}/{device}/events`]).fobs.transports[0] as MqttT;
    const statuses: MqttStatus[] = [];
    const got: string[] = [];
    const t = new MqttFobTransport({
      schoolId: 'alpha',
      transport,
      clientId: uniqueName('subdrop').slice(0, 40),
      accept: async (raw) => {
        got.push(raw.toString());
      },
      onStatus: (st) => statuses.push(st),
      log,
    });
    t.start();
    await t.ready;
    const pub = await mqtt.connectAsync(TEST_MQTT_URL, { clientId: uniqueName('subdrop-pub').slice(0, 40) });
    await pub.publishAsync(`${topic}/PS-0001/events`, 'sos', { qos: 1 });
    await until(async () => got.length === 1, 10_000, 'the SOS taken');
    await pub.endAsync();
    await t.stop();
    proxy.close();
    expect(statuses).toEqual([]);
  }, 30_000);
});
