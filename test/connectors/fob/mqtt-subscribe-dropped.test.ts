import { createServer, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_DROPPED_RECONNECT_MS,
  ORDINARY_RECONNECT_MS,
  reconnectAfterDrops,
} from '../../../connectors/fob/mqtt/subscribe-drops.ts';
import { MqttFobTransport, type MqttStatus } from '../../../connectors/fob/mqtt/transport.ts';
import { startMqttFeed } from '../../../src/alarms/fob-feeds.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { configWith } from '../../helpers/config.ts';
import { uniqueName } from '../../helpers/services.ts';
import { storeAndQueue } from '../../helpers/store-queue.ts';
import { until } from '../../helpers/wait.ts';

const log = createLogger({ level: 'silent' });
const mqttSchool = (url: string, topics: string[]) =>
  configWith({
    school: `    fobs:
      transports:
        - { kind: mqtt, url: "${url}", topics: ${JSON.stringify(topics)} }
      devices:
        - { deviceId: PS-0001, staffId: s-1 }
`,
  }).schools[0]!;
type MqttT = Extract<ReturnType<typeof mqttSchool>['fobs']['transports'][number], { kind: 'mqtt' }>;

/**
 * A broker speaking the MQTT wire (packets parsed and written by mqtt-packet, over real TCP) that
 * refuses a subscription the way MQTT 3.1.1 brokers, AWS IoT and some HiveMQ policies do: it closes
 * the connection on the SUBSCRIBE instead of answering it. Mosquitto cannot stand in: its ACL file
 * grants every subscription (it filters at delivery), and its dynamic-security plugin answers with
 * a refusing SUBACK. While `dropping` is false it grants with a SUBACK, and then delivers `deliver`
 * (a QoS 1 PUBLISH) to the subscriber.
 */
async function subscribeDroppingBroker() {
  const sockets = new Set<Socket>();
  const sessions = new Set<string>();
  const b = {
    url: '',
    dropping: true,
    /** When each CONNECT came (ms since the epoch). */
    connects: [] as number[],
    /** SUBSCRIBEs the broker closed the connection on. */
    dropped: 0,
    deliver: undefined as { topic: string; payload: string } | undefined,
    /** Resets (TCP RST) every open connection, as a network failure would. */
    resetAll: () => {
      for (const s of sockets) s.resetAndDestroy();
    },
    close: () => {},
  };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const parser = mqttPacket.parser();
    let protocolVersion: 3 | 4 | 5 = 4;
    const send = (packet: Packet) => socket.write(mqttPacket.generate(packet, { protocolVersion }));
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'connect') {
        protocolVersion = packet.protocolVersion ?? 4;
        b.connects.push(Date.now());
        // A persistent session kept, as a broker does between the connects.
        send({ cmd: 'connack', sessionPresent: sessions.has(packet.clientId), reasonCode: 0, returnCode: 0 });
        sessions.add(packet.clientId);
      } else if (packet.cmd === 'subscribe') {
        if (b.dropping) {
          b.dropped++;
          socket.destroy();
          return;
        }
        send({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map(() => 1) });
        if (b.deliver)
          send({
            cmd: 'publish',
            topic: b.deliver.topic,
            payload: b.deliver.payload,
            qos: 1,
            messageId: 1,
            dup: false,
            retain: false,
          });
      } else if (packet.cmd === 'pingreq') send({ cmd: 'pingresp' });
      else if (packet.cmd === 'disconnect') socket.end();
    });
    socket.on('data', (chunk) => parser.parse(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  b.url = `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`;
  b.close = () => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  return b;
}

let broker: Awaited<ReturnType<typeof subscribeDroppingBroker>> | undefined;
afterEach(() => {
  broker?.close();
  broker = undefined;
});

const q = storeAndQueue('sub_dropped');

const refusal = (filter: string) =>
  `the broker closed Doorstep's connection each time it subscribed to ${filter} (3 times in a row, with no answer): it is most likely refusing the subscription, and no fob event can arrive — check the broker's ACL or policy for Doorstep's user and fobs.transports[].topics`;

/** A transport on `url` subscribing to `topics`, its statuses collected. */
function transportOn(url: string, topics: string[]): { t: MqttFobTransport; statuses: MqttStatus[] } {
  const transport = mqttSchool(url, topics).fobs.transports[0] as MqttT;
  const statuses: MqttStatus[] = [];
  const t = new MqttFobTransport({
    schoolId: 'alpha',
    transport,
    clientId: uniqueName('subdropped').slice(0, 40),
    accept: async () => {},
    onStatus: (st) => statuses.push(st),
    log,
  });
  return { t, statuses };
}

describe('a broker that refuses the subscription by closing the connection', () => {
  it('marks the feed down on the board with why after three such connects, backs off, and clears it once a SUBACK grants the filters', async () => {
    broker = await subscribeDroppingBroker();
    const root = `doorstep-test/${uniqueName('subdropped')}`;
    const school = mqttSchool(broker.url, [`${root}/fobs/{device}/events`]);
    const feed = await startMqttFeed({
      deps: { db: q.db, producer: q.producer, prefix: q.prefix },
      school,
      transport: school.fobs.transports[0] as MqttT,
      log,
    });
    const status = async () =>
      (
        await q.db.query<{ state: string; reason: string | null }>(
          'SELECT state, reason FROM ingest_status WHERE school_id = $1',
          [school.id],
        )
      ).rows;
    const disconnected = async () =>
      (
        await q.db.query<{ reason: string }>(
          `SELECT payload->>'reason' AS reason FROM board_events WHERE type = 'ingest.disconnected'`,
        )
      ).rows.map((r) => r.reason);
    await until(async () => (await status()).length === 1, 15_000, 'the feed said down');
    expect(await status()).toEqual([{ state: 'down', reason: refusal(`${root}/fobs/+/events`) }]);
    // The broker is asked again, but not every second: 2 s after the third close, then 4 s.
    await until(() => broker!.dropped === 4, 15_000, 'a fourth connect');
    const c = broker.connects;
    expect(c[3]! - c[2]!).toBeGreaterThanOrEqual(1500);
    // Its ACL put right: the next connect's SUBSCRIBE is granted, the feed is up, and an SOS is raised.
    broker.deliver = {
      topic: `${root}/fobs/PS-0001/events`,
      payload: JSON.stringify({
        event_id: 'd-1',
        device: { id: 'PS-0001' },
        type: 'SOS',
        occurred_at: new Date().toISOString(),
      }),
    };
    broker.dropping = false;
    await until(async () => (await status())[0]?.state === 'up', 15_000, 'the feed up');
    expect(c[4]! - c[3]!).toBeGreaterThanOrEqual(3500);
    await until(
      async () => (await q.db.query(`SELECT id FROM alarms WHERE device_id = 'PS-0001'`)).rows.length === 1,
      10_000,
      'the SOS raised',
    );
    // Said once on the board, however often the broker closed the connection after.
    expect(await disconnected()).toEqual([refusal(`${root}/fobs/+/events`)]);
    await feed.stop();
  }, 60_000);

  it('a feed that was up is not said taken over: the closes on its SUBSCRIBE are said as the refusal they are', async () => {
    broker = await subscribeDroppingBroker();
    broker.dropping = false;
    const root = `doorstep-test/${uniqueName('subdropped')}`;
    const { t, statuses } = transportOn(broker.url, [
      `${root}/a/{device}/events`,
      `${root}/b/{device}/events`,
    ]);
    t.start();
    await t.ready;
    // The connection fails, and the broker it comes back to refuses the subscription this way.
    broker.dropping = true;
    broker.resetAll();
    await until(() => broker!.dropped >= 3, 15_000, 'three closes');
    await until(() => statuses.length > 0, 15_000, 'a status');
    const refused = {
      state: 'down',
      takenOver: false,
      reason: refusal(`${root}/a/+/events, ${root}/b/+/events`),
    };
    expect(statuses).toEqual([refused]);
    broker.dropping = false;
    await until(() => statuses.at(-1)?.state === 'up', 15_000, 'the feed up');
    await t.stop();
    expect(statuses).toEqual([refused, { state: 'up' }]);
  }, 60_000);

  it('two closes in a row on the SUBSCRIBE are lost connections like any other: nothing is said, and the feed subscribes', async () => {
    broker = await subscribeDroppingBroker();
    const { t, statuses } = transportOn(broker.url, [
      `doorstep-test/${uniqueName('subdropped')}/{device}/events`,
    ]);
    t.start();
    await until(() => broker!.dropped === 2, 15_000, 'two closes');
    broker.dropping = false;
    await t.ready;
    await t.stop();
    expect(statuses).toEqual([]);
  }, 30_000);
});

describe('the wait before reconnecting while the broker closes the connection on the SUBSCRIBE', () => {
  it('is the ordinary second until it means a refusal, then doubles, never over a minute', () => {
    expect([1, 2].map((n) => reconnectAfterDrops(n))).toEqual([ORDINARY_RECONNECT_MS, ORDINARY_RECONNECT_MS]);
    expect([3, 4, 5, 6, 7, 8].map((n) => reconnectAfterDrops(n))).toEqual([
      2000, 4000, 8000, 15_000, 15_000, 15_000,
    ]);
    expect(reconnectAfterDrops(10_000)).toBe(MAX_DROPPED_RECONNECT_MS);
    expect(MAX_DROPPED_RECONNECT_MS).toBe(15_000);
  });
});
