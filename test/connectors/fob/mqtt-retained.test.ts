import { createServer, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { MqttFobTransport } from '../../../connectors/fob/mqtt/transport.ts';
import { type AcceptOutcome, acceptFobPayload } from '../../../src/alarms/accept.ts';
import { createLogger } from '../../../src/log/logger.ts';
import { configWith } from '../../helpers/config.ts';
import { TEST_MQTT_URL, uniqueName } from '../../helpers/services.ts';
import { storeAndQueue } from '../../helpers/store-queue.ts';
import { until } from '../../helpers/wait.ts';

/**
 * A gateway that publishes with retain set (Node-RED's mqtt-out with "retain" ticked): the broker
 * keeps the last message of each device's topic and sends it to every new subscription. Messages
 * whose identity is the window they arrived in — an SOS from a fob whose clock reset, a body that
 * cannot be read, an SOS with neither id nor time — must not come back as new alarms after a network
 * blip; on a new session (the broker lost Doorstep's) a retained SOS is still raised: it may be an
 * alarm never received.
 */
const q = storeAndQueue('mqtt_retained');
const log = createLogger({ level: 'silent' });

const schoolOn = (url: string, root: string, clientId: string) =>
  configWith({
    school: `    fobs:
      transports:
        - { kind: mqtt, url: "${url}", topics: ["${root}/fobs/{device}/events"], clientId: "${clientId}" }
      devices:
        - { deviceId: PS-0001, staffId: staff-17 }
        - { deviceId: PS-0003, staffId: staff-19 }
`,
  }).schools[0]!;
type School = ReturnType<typeof schoolOn>;
type MqttT = Extract<School['fobs']['transports'][number], { kind: 'mqtt' }>;

/** An SOS from a fob whose clock reset (pressed once), a gateway's status word, an SOS with no id or time. */
const RETAINED = {
  'PS-0001': JSON.stringify({
    event_id: 'boot-1',
    device: { id: 'PS-0001' },
    type: 'SOS',
    occurred_at: '2000-01-01T00:00:00Z',
  }),
  'PS-0002': 'online',
  'PS-0003': JSON.stringify({ device: { id: 'PS-0003' }, type: 'SOS' }),
};

const alarms = async (schoolId: string) =>
  (
    await q.db.query<{ device_id: string; status: string }>(
      'SELECT device_id, status FROM alarms WHERE school_id = $1 ORDER BY device_id, id',
      [schoolId],
    )
  ).rows;
const resolveAll = (schoolId: string) =>
  q.db.query(`UPDATE alarms SET status = 'resolved', resolved_at = now() WHERE school_id = $1`, [schoolId]);

/**
 * A broker speaking the MQTT wire that keeps sessions and retained messages, and — as brokers that
 * ignore MQTT 5 retain handling do — sends every retained message on every SUBSCRIBE, with the retain
 * flag set, whether or not the session resumed. It records the retain handling each subscription
 * asked for.
 */
async function retainResendingBroker(retained: Record<string, string>) {
  const sockets = new Set<Socket>();
  const b = {
    url: '',
    sessions: new Set<string>(),
    /** The retain handling (rh) of every subscription asked for. */
    rh: [] as (number | undefined)[],
    puback: 0,
    resetAll: () => {
      for (const s of sockets) s.resetAndDestroy();
    },
    /** Forwards a live message to the subscriber with the retain flag set (as published). */
    forward: (_topic: string, _payload: string) => {},
    close: () => {},
  };
  let messageId = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const send = (packet: Packet) => socket.write(mqttPacket.generate(packet, { protocolVersion: 5 }));
    b.forward = (topic, payload) => {
      messageId = (messageId % 60_000) + 1;
      send({ cmd: 'publish', topic, payload, qos: 1, messageId, dup: false, retain: true });
    };
    parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'connect') {
        send({ cmd: 'connack', sessionPresent: b.sessions.has(packet.clientId), reasonCode: 0 });
        b.sessions.add(packet.clientId);
      } else if (packet.cmd === 'subscribe') {
        for (const s of packet.subscriptions) b.rh.push(s.rh);
        send({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map(() => 1) });
        const root = packet.subscriptions[0]!.topic.replace(/\/fobs\/\+\/events$/, '');
        for (const [device, payload] of Object.entries(retained)) {
          messageId = (messageId % 60_000) + 1;
          send({
            cmd: 'publish',
            topic: `${root}/fobs/${device}/events`,
            payload,
            qos: 1,
            messageId,
            dup: false,
            retain: true,
          });
        }
      } else if (packet.cmd === 'puback') b.puback++;
      else if (packet.cmd === 'pingreq') send({ cmd: 'pingresp' });
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

describe('retained messages from a gateway that publishes with retain', () => {
  it('a broker honouring retain handling sends none again after a blip; a new publish is still raised', async () => {
    const id = uniqueName('retained');
    const root = `doorstep-test/${id}`;
    const clientId = id.slice(0, 40);
    const school = { ...schoolOn(TEST_MQTT_URL, root, clientId), id: `${id}-a` };
    const transport = school.fobs.transports[0] as MqttT;
    const gateway = await mqtt.connectAsync(TEST_MQTT_URL, {
      clientId: `${id}-gw`.slice(0, 60),
      protocolVersion: 5,
    });
    let clock = new Date('2026-03-02T10:00:10Z').getTime();
    const received: AcceptOutcome[] = [];
    const t = new MqttFobTransport({
      schoolId: school.id,
      transport,
      clientId,
      log,
      now: () => new Date(clock),
      accept: async (raw, arrival) => {
        received.push(await acceptFobPayload(q, school, transport, raw, arrival));
      },
    });
    try {
      for (const [device, payload] of Object.entries(RETAINED))
        await gateway.publishAsync(`${root}/fobs/${device}/events`, payload, { qos: 1, retain: true });
      t.start();
      await t.ready;
      // A new session: each retained message is taken, as any message (it may be an alarm never received).
      // Each taken in full (its accept returned, not only its alarm committed): counted after that.
      await until(
        async () => received.length === 3 && (await alarms(school.id)).length === 3,
        10_000,
        'three alarms',
      );
      await resolveAll(school.id);
      const firstRound = received.length;

      // A network blip three minutes later: the session resumes, and nothing comes again.
      clock += 3 * 60_000;
      (t as unknown as { client: MqttClient }).client.stream.destroy();
      await until(
        () => (t as unknown as { subscribedNow: boolean }).subscribedNow,
        10_000,
        'subscribed again',
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect(received.length).toBe(firstRound);
      expect((await alarms(school.id)).filter((a) => a.status === 'open')).toEqual([]);

      // The fob pressed again (its clock still reset: the same bytes), published anew: raised.
      clock += 3 * 60_000;
      await gateway.publishAsync(`${root}/fobs/PS-0001/events`, RETAINED['PS-0001'], {
        qos: 1,
        retain: true,
      });
      await until(
        async () => (await alarms(school.id)).some((a) => a.status === 'open'),
        10_000,
        'the new press',
      );
      expect((await alarms(school.id)).filter((a) => a.status === 'open')).toEqual([
        { device_id: 'PS-0001', status: 'open' },
      ]);
    } finally {
      await t.stop();
      for (const device of Object.keys(RETAINED))
        await gateway.publishAsync(`${root}/fobs/${device}/events`, '', { qos: 1, retain: true });
      await gateway.endAsync();
    }
  });

  it('a broker that sends retained messages again on a resumed session: each copy keeps its identity, never a new alarm; on a lost session, or live long after a reconnect, they are raised', async () => {
    const broker = await retainResendingBroker(RETAINED);
    const id = uniqueName('retained');
    const school = { ...schoolOn(broker.url, `doorstep-test/${id}`, id.slice(0, 40)), id: `${id}-b` };
    const transport = school.fobs.transports[0] as MqttT;
    let clock = new Date('2026-03-02T10:00:10Z').getTime();
    const outcomes: string[] = [];
    let counted = 0;
    const feed = new MqttFobTransport({
      schoolId: school.id,
      transport,
      clientId: id.slice(0, 40),
      log,
      now: () => new Date(clock),
      onRetained: () => counted++,
      retainedCopiesMs: 1_500,
      accept: async (raw, arrival) => {
        const r = await acceptFobPayload(q, school, transport, raw, arrival);
        outcomes.push(`${arrival.retainedAgain ? 'a copy' : 'new'}: ${r.outcome}`);
      },
    });
    feed.start();
    const blip = async () => {
      const before = broker.puback;
      broker.resetAll();
      await until(() => broker.puback >= before + 3, 10_000, 'the retained copies acknowledged');
    };
    try {
      await until(() => broker.puback >= 3, 10_000, 'first delivery acknowledged');
      await until(async () => (await alarms(school.id)).length === 3, 10_000, 'three alarms');
      await resolveAll(school.id);

      // Blips, minutes apart, the session resumed each time: every copy acknowledged, none raised.
      for (const minutes of [3, 5, 45]) {
        clock += minutes * 60_000;
        await blip();
      }
      expect(await alarms(school.id)).toEqual([
        { device_id: 'PS-0001', status: 'resolved' },
        { device_id: 'PS-0002', status: 'resolved' },
        { device_id: 'PS-0003', status: 'resolved' },
      ]);
      // Retain handling 1 was asked for on every subscribe (this broker ignores it).
      expect(broker.rh.length).toBe(4);
      expect(new Set(broker.rh)).toEqual(new Set([1]));

      // The broker loses Doorstep's session: the retained messages on the new one may be alarms
      // never received — raised (when in doubt, raise).
      clock += 3 * 60_000;
      broker.sessions.clear();
      await blip();
      await until(
        async () => (await alarms(school.id)).filter((a) => a.status === 'open').length === 3,
        10_000,
        'raised again on a lost session',
      );
      expect(outcomes).toEqual([
        ...Array(3).fill('new: accepted'),
        ...Array(9).fill('a copy: duplicate'),
        ...Array(3).fill('new: accepted'),
      ]);
      expect(counted).toBe(15);

      // Long after the reconnect, a broker forwarding a live message with the flag as published: the
      // fob pressed again (the same bytes, its clock still reset) is a new press — raised.
      await resolveAll(school.id);
      clock += 3 * 60_000;
      await blip(); // the session resumed again: copies
      await new Promise((r) => setTimeout(r, 2_000));
      broker.forward(`doorstep-test/${id}/fobs/PS-0001/events`, RETAINED['PS-0001']);
      await until(() => outcomes.length === 19, 10_000, 'the live message');
      expect(outcomes.slice(15)).toEqual([...Array(3).fill('a copy: duplicate'), 'new: accepted']);
      expect((await alarms(school.id)).filter((a) => a.status === 'open')).toEqual([
        { device_id: 'PS-0001', status: 'open' },
      ]);
    } finally {
      await feed.stop();
      broker.close();
    }
  });
});
