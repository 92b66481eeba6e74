import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Counter } from 'prom-client';
import { type IngestDeps, ingestFobEvent } from '../../../src/alarms/ingest.ts';
import type { SchoolConfig } from '../../../src/config/schema.ts';
import type { Logger } from '../../../src/log/logger.ts';
import { insertRejected } from '../../../src/store/alarms.ts';
import { type FobTransportConfig, profileFor } from '../index.ts';

type MqttTransportConfig = Extract<FobTransportConfig, { kind: 'mqtt' }>;

export interface MqttTransportOptions {
  school: SchoolConfig;
  transport: MqttTransportConfig;
  ingest: IngestDeps;
  log: Logger;
  /** Counts payloads that could not be decoded (exposed on /metrics). */
  rejectedCounter?: Counter<'school' | 'transport'>;
  instance?: string | undefined;
  now?: () => Date;
}

/**
 * Subscribes to a school's broker at QoS 1 with a stable client id and a persistent session
 * (`clean: false` + session expiry), so messages published while Doorstep is down are delivered when
 * it returns. MQTT.js sends the PUBACK only when `handleMessage` calls back: it is overridden so the
 * callback comes after the durable write (event row, alarm, escalation job). If that write fails even
 * after retries, the connection is dropped without acknowledging, and the broker redelivers.
 * A payload that cannot be decoded is kept in rejected_events with the reason and acknowledged, so it
 * does not loop.
 */
export class MqttFobTransport {
  private client: MqttClient | undefined;
  private readonly o: MqttTransportOptions;
  private readonly now: () => Date;

  constructor(options: MqttTransportOptions) {
    this.o = options;
    this.now = options.now ?? (() => new Date());
  }

  get clientId(): string {
    const t = this.o.transport;
    const base = t.clientId ?? `doorstep-${this.o.school.id}`;
    return this.o.instance ? `${base}-${this.o.instance}` : base;
  }

  private options(): IClientOptions {
    const t = this.o.transport;
    const tls = t.tls;
    return {
      clientId: this.clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: t.sessionExpirySeconds },
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(t.username ? { username: t.username } : {}),
      ...(t.password ? { password: t.password.reveal() } : {}),
      ...(tls?.ca ? { ca: readFileSync(tls.ca) } : {}),
      ...(tls?.cert ? { cert: readFileSync(tls.cert) } : {}),
      ...(tls?.key ? { key: readFileSync(tls.key) } : {}),
    };
  }

  /** Resolves once subscribed (a broker that is down is retried every second in the background). */
  ready: Promise<void> = Promise.resolve();

  /** Connects and subscribes without waiting for the broker; `ready` says when subscribed. */
  start(): void {
    const t = this.o.transport;
    const client = mqtt.connect(t.url, { ...this.options(), manualConnect: true });
    this.client = client;
    client.handleMessage = (packet, callback) => {
      this.handle(packet).then(
        () => callback(),
        (err: unknown) => {
          // Not written: no PUBACK. Drop the connection so the broker redelivers on reconnect.
          this.o.log.error(
            { err, school: this.o.school.id },
            'fob event not stored; dropping the connection unacknowledged',
          );
          client.stream?.destroy();
        },
      );
    };
    client.on('error', (err) => this.o.log.error({ err, school: this.o.school.id }, 'mqtt error'));
    const filters = t.topics.map((f) => (t.shared ? `$share/doorstep/${f}` : f));
    const subscribed = new Promise<void>((resolve, reject) => {
      client.once('connect', (connack) => {
        // A resumed session keeps its subscriptions; subscribing again is harmless and covers a lost session.
        client.subscribe(filters, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
        void connack;
      });
    });
    client.connect();
    this.ready = subscribed.then(() =>
      this.o.log.info({ school: this.o.school.id, clientId: this.clientId, filters }, 'mqtt subscribed'),
    );
    this.ready.catch((err: unknown) =>
      this.o.log.error({ err, school: this.o.school.id }, 'mqtt subscribe failed'),
    );
  }

  private async handle(packet: IPublishPacket): Promise<void> {
    const raw = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const decoded = profileFor(this.o.transport).decode(raw, { receivedAt: this.now(), topic: packet.topic });
    if (!decoded.ok) {
      await insertRejected(this.o.ingest.db, {
        schoolId: this.o.school.id,
        transport: 'mqtt',
        profile: this.o.transport.profile,
        source: packet.topic,
        reason: `${decoded.error.field}: ${decoded.error.reason}`,
        raw: raw.toString('utf8'),
      });
      this.o.rejectedCounter?.inc({ school: this.o.school.id, transport: 'mqtt' });
      this.o.log.warn(
        { school: this.o.school.id, topic: packet.topic, field: decoded.error.field },
        'fob payload rejected',
      );
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await ingestFobEvent(this.o.ingest, this.o.school, decoded.event, {
          transport: 'mqtt',
          profile: this.o.transport.profile,
          raw,
        });
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    }
  }

  /** Stops taking messages; unacknowledged ones stay with the broker for the next session. */
  async stop(): Promise<void> {
    const c = this.client;
    if (!c) return;
    await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
  }
}
