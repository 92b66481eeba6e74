import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, {
  type ClientSubscribeCallback,
  type IClientOptions,
  type IClientSubscribeOptions,
  type IConnackPacket,
  type IDisconnectPacket,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import { deviceFromTopic, subscriptionFilter } from '../../../src/domain/fob/topics.ts';
import type { Logger } from '../../../src/log/logger.ts';
import type { FobTransportConfig } from '../index.ts';
import { DEVICE_SIGNATURE_PROPERTY } from '../profiles/peoplesafe-style.ts';
import {
  DROPS_MEAN_REFUSED,
  ORDINARY_RECONNECT_MS,
  reconnectAfterDrops,
  SubscribeDrops,
} from './subscribe-drops.ts';

export type MqttTransportConfig = Extract<FobTransportConfig, { kind: 'mqtt' }>;

/** One message as the wire delivered it, with what the transport vouches for. */
export interface MqttArrival {
  receivedAt: Date;
  source: string;
  /** The device the topic names (null with `deviceBinding: none`). */
  deviceId: string | null;
  /** `deviceBinding: topic` and this topic names no device (its device level is empty). */
  deviceMissing?: boolean;
  /** The MQTT 5 user property `doorstep-signature`, if present. */
  signature: string | null;
  /**
   * A retained message the broker sent again on a session that resumed (the retain flag set, the
   * CONNACK saying the session was present): a copy of one the broker kept, not a new message — a
   * gateway that publishes with retain, and a broker that resends what it retains on a subscription
   * that existed. `firstSeenAt`: when this connection's process first received these bytes on this
   * topic (null: not known here — a restart since, or a message never seen but as retained).
   */
  retainedAgain?: { firstSeenAt: Date | null };
}

/** Whether messages can arrive: `down` with why (a session take-over is reported at once). */
export type MqttStatus =
  | { state: 'up' }
  | { state: 'down'; reason: string; takenOver: boolean; sessionLost?: boolean };

export interface MqttTransportOptions {
  schoolId: string;
  transport: MqttTransportConfig;
  /** The session's client id: configured, or generated once and kept by the caller. */
  clientId: string;
  /** Stores the message durably; the PUBACK is sent only when it resolves. */
  accept: (raw: Buffer, arrival: MqttArrival) => Promise<void>;
  /** Told when arrival stops (after `disconnectAlertSeconds`, or at once on a take-over) and resumes. */
  onStatus?: (status: MqttStatus) => void;
  log: Logger;
  now?: () => Date;
  /** How long after a take-over the connection must hold before it counts as recovered (ms). */
  takeoverQuietMs?: number;
  /** How long the board shows that the broker lost the session's queued messages (ms; default 10 min). */
  lostSessionShowMs?: number;
  /** With `transport.shared`: the shared subscription's group (`shareGroup`), one per instance. */
  shareGroup?: string;
  /**
   * When an earlier process last connected with this session (kept by the caller): a first CONNACK
   * here without it means the broker lost what was queued while Doorstep was stopped.
   */
  heldBefore?: Date | null;
  /** How often filters the broker refused are asked for again (ms; default RESUBSCRIBE_REFUSED_MS). */
  resubscribeRefusedMs?: number;
  /** Told of every CONNACK (the caller keeps that the session is held). */
  onConnected?: (sessionPresent: boolean) => void;
  /** Told of every message with the retain flag set (for /metrics): `resumed`, on a resumed session. */
  onRetained?: (resumed: boolean) => void;
  /** How long after a reconnect retained copies are looked for (ms; default RETAINED_COPIES_MS). */
  retainedCopiesMs?: number;
}

/**
 * The shared-subscription group of one Doorstep instance's connections to a transport. Each instance
 * has its own group, so the broker gives every message to every instance (one connection of each) —
 * an instance that is down holds its copies in its sessions till it is back, and the others still
 * get them all; the store writes an event once however often it arrives. One group shared by every
 * instance would be failover in name only: the broker keeps handing an offline persistent session its
 * turn, and half of every school's alarms would wait for the dead instance. The connection count is
 * in the name: when it is lowered, the connections no longer started keep their sessions (till they
 * expire) in the old group, and the new group — the live connections only — still gets every message
 * (a live connection that kept the old group too takes some twice; each is written once).
 */
export function shareGroup(instance: string | undefined, connections: number): string {
  // A name a share group cannot hold as it is (a host name's dots, over 40 characters, `/`, `+`, `#`)
  // is its digest: still one group per instance, never a start that fails.
  const name =
    instance === undefined
      ? 'one'
      : /^[A-Za-z0-9_-]{1,40}$/.test(instance)
        ? instance
        : createHash('sha256').update(instance).digest('hex').slice(0, 16);
  return `doorstep-${name}-n${connections}`;
}

/** The one group every instance shared before (`$share/doorstep/…`): left on connecting. */
const OLD_SHARE_GROUP = 'doorstep';

/** QoS 1 messages a connection works on at once (each acknowledged only after its own write). */
export const RECEIVE_MAXIMUM = 128;

/**
 * MQTT 5 retain handling 1: the broker sends retained messages only when the subscription did not
 * exist (a new session, or one the broker lost) — not on every reconnect that resumes the session.
 */
export const RETAIN_HANDLING_NEW_SUBSCRIPTION_ONLY = 1;

/** How Doorstep subscribes: QoS 1, retained messages only for a subscription that did not exist. */
const SUBSCRIBE_OPTIONS: IClientSubscribeOptions = { qos: 1, rh: RETAIN_HANDLING_NEW_SUBSCRIPTION_ONLY };

/**
 * How long after a reconnect (its CONNACK, then its SUBACK) a retained message on a resumed session is
 * taken as a copy sent again (`seen`): the broker sends its copies then. Later, the flag on a resumed
 * session is a broker forwarding a live message as published — a new press, taken as any message.
 * A copy held back past this (a long backlog) is taken as new: raised rather than silenced.
 */
export const RETAINED_COPIES_MS = 60_000;

/** Topics whose last message is remembered (`lastOnTopic`): one per device, bounded against a flood. */
export const TOPICS_REMEMBERED = 10_000;

/** MQTT 5 DISCONNECT reason code: another client connected with this client id. */
const SESSION_TAKEN_OVER = 0x8e;

/** How often filters the broker refused are asked for again (its ACL may be put right while Doorstep runs). */
export const RESUBSCRIBE_REFUSED_MS = 60_000;

/** A SUBACK as MQTT.js hands it over. */
type Suback = Parameters<ClientSubscribeCallback>[2];

/** MQTT 5 SUBACK reason codes of a refusal (0x80 and above: 128 is 0x80), as the board says them. */
const SUBACK_REFUSALS: Record<number, string> = {
  128: 'unspecified error',
  131: 'implementation specific error',
  135: 'not authorized',
  143: 'topic filter invalid',
  145: 'packet identifier in use',
  151: 'quota exceeded',
  158: 'shared subscriptions not supported',
  161: 'subscription identifiers not supported',
  162: 'wildcard subscriptions not supported',
};

/** How long a QoS 0 fob event's write is tried before it is given up as lost (a database failover's worth). */
export const QOS0_RETRY_MS = 5 * 60_000;
/** How many QoS 0 events may wait for the database at once (each holds its message, at most `maxBytes`). */
export const MAX_QOS0_PENDING = 1_000;

/**
 * Subscribes to a school's broker at QoS 1 with a persistent session (`clean: false` + session
 * expiry), so messages published while Doorstep is down are delivered when it returns. MQTT.js
 * sends the PUBACK only when `handleMessage` calls back: it is overridden so the callback comes
 * after `accept` (the durable write). If that fails even after retries, the connection is dropped
 * without acknowledging, and the broker redelivers. Knows the MQTT wire and nothing of alarms.
 *
 * It watches its own connection: the broker handing the session to another client (DISCONNECT
 * 0x8E) is reported at once and loudly; a connection lost for longer than `disconnectAlertSeconds`
 * likewise; recovery is reported when the connection is back (after a take-over, once it has held
 * for `takeoverQuietMs`, so a client fighting for the session keeps the warning up).
 */
export class MqttFobTransport {
  private client: MqttClient | undefined;
  private readonly o: MqttTransportOptions;
  private readonly now: () => Date;
  private reported: 'up' | 'down' | 'unknown' = 'unknown';
  private downTimer: NodeJS.Timeout | undefined;
  private upTimer: NodeJS.Timeout | undefined;
  private lastTakeoverAt = 0;
  /** When the connection was last lost (0: connected, or never connected in this process). */
  private lostAt = 0;
  /** Whether this process has connected before: a later CONNACK without the session lost its queue. */
  private connectedBefore = false;
  /** Until when a lost session is shown as the feed not arriving. */
  private lostSessionUntil = 0;
  private stopping = false;
  /** QoS 0 events whose write is being tried in the background (`takeQos0`). */
  private qos0Pending = 0;
  /** When the broker last closed a working connection without an error (0: not since connect). */
  private cleanCloseAt = 0;
  private errored = false;
  /** Subscriptions (as subscribed) the broker refused: the feed is down until they are granted. */
  private refused: { filters: string[] } | undefined;
  /** Whether the broker granted the subscriptions on this connection (the feed is up only then). */
  private subscribedNow = false;
  /** The reason the feed was last said down with. */
  private downReason: string | undefined;
  private resubscribeTimer: NodeJS.Timeout | undefined;
  /** Connections closed by the broker between Doorstep's SUBSCRIBE and its SUBACK, in a row. */
  private readonly drops = new SubscribeDrops();
  /** Whether the broker said, on this connection's CONNACK, that the session was present. */
  private sessionResumed = false;
  /** Until when (ms since the epoch) a retained message on a resumed session is a copy sent again. */
  private copiesUntil = 0;
  /** Messages with the retain flag set on this connection (the first of them is logged). */
  private retainedOnConnection = 0;
  /**
   * The last message received on each topic (a digest of its bytes) and when it was first received:
   * what a retained copy sent again is the copy of (`retainedAgain`).
   */
  private readonly lastOnTopic = new Map<string, { digest: string; firstSeenAt: Date | null }>();

  constructor(options: MqttTransportOptions) {
    this.o = options;
    this.now = options.now ?? (() => new Date());
  }

  get clientId(): string {
    return this.o.clientId;
  }

  private options(): IClientOptions {
    const t = this.o.transport;
    const tls = t.tls;
    return {
      clientId: this.clientId,
      clean: false,
      protocolVersion: 5,
      // At most this many unacknowledged messages in flight to us (the broker holds the rest).
      properties: { sessionExpiryInterval: t.sessionExpirySeconds, receiveMaximum: RECEIVE_MAXIMUM },
      reconnectPeriod: ORDINARY_RECONNECT_MS,
      connectTimeout: 10_000,
      // MQTT.js would subscribe again by itself after a reconnect that lost the session, and drop
      // what the broker answers: Doorstep subscribes on every connect itself and reads the SUBACK.
      resubscribe: false,
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
    this.pipelineAcks(client);
    client.on('error', (err) => this.o.log.error({ err, school: this.o.schoolId }, 'mqtt error'));
    client.on('disconnect', (packet: IDisconnectPacket) => {
      if (packet.reasonCode === SESSION_TAKEN_OVER) this.takenOver('the broker said so (DISCONNECT 0x8E)');
    });
    client.on('error', () => {
      this.errored = true;
    });
    client.on('close', () => {
      this.subscribedNow = false;
      if (this.stopping) return;
      if (client.connected === false && this.lostAt === 0) this.lostAt = Date.now();
      // The broker ended a working connection cleanly (no error, not us): if it lets us straight
      // back in, it was not going away — it gave our session to another client (brokers that do not
      // send DISCONNECT 0x8E, such as Mosquitto 2.0.11, just close the socket). One it closed on our
      // unanswered SUBSCRIBE was not working: that is the broker refusing it, not a take-over.
      if (this.reported === 'up' && !this.errored && !this.drops.lastClosedUnanswered)
        this.cleanCloseAt = Date.now();
      if (this.downTimer) return;
      clearTimeout(this.upTimer);
      this.upTimer = undefined;
      this.downTimer = setTimeout(() => {
        this.downTimer = undefined;
        if (!client.connected)
          this.report({
            state: 'down',
            takenOver: false,
            reason: `no connection to the broker for ${t.disconnectAlertSeconds} s`,
          });
      }, t.disconnectAlertSeconds * 1000);
      this.downTimer.unref();
    });
    client.on('connect', (connack: IConnackPacket) => {
      clearTimeout(this.downTimer);
      this.downTimer = undefined;
      this.errored = false;
      if (this.cleanCloseAt && Date.now() - this.cleanCloseAt < 10_000)
        this.takenOver('the broker closed Doorstep’s connection and let it straight back in');
      this.cleanCloseAt = 0;
      // Back without the session (the broker restarted without persistence, or the session expired):
      // whatever was published for Doorstep while it was away is gone — said, not silently lost.
      // The same when the session was held by an earlier process (the broker restarted, or the session
      // expired, while Doorstep was stopped): this process never had it, but it was Doorstep's.
      if (connack.sessionPresent === false) {
        if (this.connectedBefore) this.sessionLost(this.lostAt);
        else if (this.o.heldBefore)
          this.sessionLost(
            this.o.heldBefore.getTime(),
            `the broker lost Doorstep's session while Doorstep was stopped: fob events sent since it last connected (${hhmm(this.o.heldBefore.getTime())} UTC) did not arrive — check on staff out now`,
          );
      }
      this.connectedBefore = true;
      this.sessionResumed = connack.sessionPresent === true;
      this.copiesUntil = Date.now() + (this.o.retainedCopiesMs ?? RETAINED_COPIES_MS);
      this.retainedOnConnection = 0;
      this.o.onConnected?.(connack.sessionPresent === true);
      this.lostAt = 0;
      // Up once the broker has granted the subscriptions on this connection (`subscribe`).
      this.subscribedNow = false;
    });
    if (t.shared && !this.o.shareGroup) throw new Error('mqtt: a shared transport needs its share group');
    const filters = t.topics
      .map(subscriptionFilter)
      .map((f) => (t.shared ? `$share/${this.o.shareGroup}/${f}` : f));
    // Before MQTT.js sets its reconnect timer on a close (so the wait it takes is the one set here).
    client.prependListener('close', () => this.closedOnSubscribe(client, filters));
    const subscribed = new Promise<void>((resolve, reject) => {
      let first = true;
      client.on('connect', () => {
        // On every connect, and its SUBACK read each time: a session the broker lost (it restarted)
        // has no subscriptions, and one it refuses now (its ACL tightened) must say the feed is down.
        // A resumed session keeps its subscriptions; subscribing again is harmless — with retain
        // handling 1, or the broker would send every retained message again (`subscribe`). A connection
        // lost before the SUBACK is not a refusal: the next connect asks again (unless the broker
        // closes it on the SUBSCRIBE every time: `closedOnSubscribe`).
        this.subscribe(client, filters).then(resolve, (err: unknown) => {
          if (!closedBeforeSuback(err)) reject(err);
        });
        // A session from before one group per instance still holds the old shared group: left, so
        // its turns are not queued for it (and each message not taken twice).
        if (first && t.shared)
          client.unsubscribe(
            t.topics.map(subscriptionFilter).map((f) => `$share/${OLD_SHARE_GROUP}/${f}`),
            () => {},
          );
        first = false;
      });
    });
    client.connect();
    this.ready = subscribed.then(() =>
      this.o.log.info({ school: this.o.schoolId, filters }, 'mqtt subscribed'),
    );
    this.ready.catch((err: unknown) =>
      this.o.log.error({ err, school: this.o.schoolId }, 'mqtt subscribe failed'),
    );
  }

  /**
   * Subscribes to `filters`. One the broker refuses (a SUBACK reason code of 0x80 or more: its ACL
   * does not let Doorstep's user read it, say) would leave the feed connected and looking up while
   * nothing on it can ever arrive: the feed is said down with why, stays down, and the refused
   * filters are asked for again every RESUBSCRIBE_REFUSED_MS until the broker grants them. A
   * connection closed before the SUBACK refused nothing: the next connect subscribes again — but
   * DROPS_MEAN_REFUSED of them in a row are a refusal (`closedOnSubscribe`).
   */
  private subscribe(client: MqttClient, filters: string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (client.connected) this.drops.sent();
      // Retain handling 1: retained messages only for a subscription that did not exist. With 0 (the
      // default) every reconnect's SUBSCRIBE makes the broker send each retained message again, and
      // one whose identity is the window it arrived in (an unreadable body, a fob whose clock reset)
      // would be a new alarm after every blip. `rh` is MQTT 5's: Doorstep connects only with
      // protocolVersion 5 (a broker speaking only 3.1.1 refuses the CONNECT); a broker that ignores it
      // is met in `handle` (a retained copy on a resumed session keeps the identity it had).
      client.subscribe(filters, SUBSCRIBE_OPTIONS, (err, _granted, packet) => {
        if (!closedBeforeSuback(err)) this.drops.answered();
        if (!err) {
          if (this.refused) {
            this.refused = undefined;
            this.o.log.warn({ school: this.o.schoolId, filters }, 'mqtt subscription granted');
          }
          if (client.connected) {
            this.subscribedNow = true;
            this.copiesUntil = Date.now() + (this.o.retainedCopiesMs ?? RETAINED_COPIES_MS);
            this.upAfterWarnings(client);
          }
          resolve();
          return;
        }
        if (this.stopping || closedBeforeSuback(err)) {
          reject(err);
          return;
        }
        this.subscriptionRefused(client, filters, err, packet);
        reject(err);
      });
    });
  }

  private subscriptionRefused(client: MqttClient, filters: string[], err: Error, packet: Suback): void {
    const suback = packet ?? (err as { packet?: Suback }).packet;
    const codes = (suback?.granted ?? []) as unknown[];
    const refused = filters.flatMap((f, i) => {
      const code = codes[i];
      return typeof code === 'number' && code >= 0x80 ? [{ filter: f, code }] : [];
    });
    // Said as configured (without the share group it is subscribed under).
    const said = refused
      .map(({ filter, code }) => {
        const why = SUBACK_REFUSALS[code] ?? 'refused';
        return `${filter.replace(/^\$share\/[^/]+\//, '')} (${why}, 0x${code.toString(16)})`;
      })
      .join(', ');
    const reason =
      refused.length > 0
        ? `the broker refused Doorstep's subscription to ${said}: no fob event on ${refused.length > 1 ? 'them' : 'it'} can arrive — check the broker's ACL for Doorstep's user and fobs.transports[].topics`
        : `Doorstep could not subscribe to its fob topics (${err.message}): no fob event can arrive — check fobs.transports[].topics`;
    this.refused = { filters: refused.length > 0 ? refused.map((r) => r.filter) : filters };
    // Said even when the feed is down already (a lost session, a connection lost for a while, said
    // just before on this reconnect): the refusal is why it stays down now.
    this.report({ state: 'down', takenOver: false, reason }, true);
    this.resubscribeLater(client);
  }

  /**
   * A connection closed: one closed between a SUBSCRIBE and its SUBACK is counted. DROPS_MEAN_REFUSED
   * of them in a row is the broker refusing the subscription by closing the connection (as MQTT 3.1.1
   * brokers, AWS IoT and some HiveMQ policies do, where others answer a refusing SUBACK): said like a
   * refusing SUBACK — the feed down with why, until a SUBACK grants the filters — and the connects
   * that follow back off (`reconnectAfterDrops`) rather than ask every second.
   */
  private closedOnSubscribe(client: MqttClient, filters: string[]): void {
    const drops = this.drops.closed();
    if (this.stopping) return;
    client.options.reconnectPeriod = reconnectAfterDrops(drops);
    if (drops < DROPS_MEAN_REFUSED) return;
    const said = filters.map((f) => f.replace(/^\$share\/[^/]+\//, '')).join(', ');
    this.refused = { filters };
    this.report(
      {
        state: 'down',
        takenOver: false,
        reason: `the broker closed Doorstep's connection each time it subscribed to ${said} (${DROPS_MEAN_REFUSED} times in a row, with no answer): it is most likely refusing the subscription, and no fob event can arrive — check the broker's ACL or policy for Doorstep's user and fobs.transports[].topics`,
      },
      true,
    );
  }

  /** Asks again for the refused filters after `resubscribeRefusedMs` (once connected). */
  private resubscribeLater(client: MqttClient): void {
    clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = setTimeout(() => {
      this.resubscribeTimer = undefined;
      const again = this.refused?.filters;
      if (!again || this.stopping) return;
      if (client.connected) this.subscribe(client, again).catch(() => {});
      else this.resubscribeLater(client);
    }, this.o.resubscribeRefusedMs ?? RESUBSCRIBE_REFUSED_MS);
    this.resubscribeTimer.unref();
  }

  /**
   * Acknowledgement after the durable write, without head-of-line blocking. MQTT.js reads the next
   * packet of a connection only once the PUBACK of the one before is sent, so a slow write would hold
   * up every message behind it. Here each QoS 1 message's write starts as it arrives (up to
   * RECEIVE_MAXIMUM at once; the writes of messages arriving together share one commit), MQTT.js is
   * let on to the next packet at once, and the message's PUBACK is sent by us only when its write has
   * resolved — and in the order the messages arrived (MQTT 4.6), so a PUBACK never waits on a write
   * that is not its own except to keep that order. A write that fails even after retries drops the
   * connection: its PUBACK and every later one on that connection are never sent, and the broker
   * redelivers them (an exact redelivery writes nothing twice). PUBACKs are never carried over to a
   * new connection.
   */
  private pipelineAcks(client: MqttClient): void {
    const internals = client as unknown as {
      _sendPacket?: (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void) => void;
    };
    if (typeof internals._sendPacket !== 'function')
      throw new Error('mqtt: this MQTT.js has no _sendPacket; cannot hold PUBACKs until the write');
    const send = internals._sendPacket.bind(client);
    let held: number | undefined;
    internals._sendPacket = (packet, cb) => {
      if (packet.cmd === 'puback' && packet.messageId === held) {
        // MQTT.js's own PUBACK, sent before the write: swallowed (ours follows the write).
        cb?.();
        return;
      }
      send(packet, cb);
    };
    let order: { stream: unknown; last: Promise<void> } = { stream: undefined, last: Promise.resolve() };
    client.handleMessage = (packet, callback) => {
      if (packet.qos === 0) return this.takeQos0(packet, callback);
      const stream = client.stream;
      const written = this.handle(packet).then(
        () => true,
        (err: unknown) => {
          // Not written: no PUBACK. Drop the connection so the broker redelivers on reconnect.
          this.o.log.error(
            { err, school: this.o.schoolId },
            'fob event not stored; dropping the connection unacknowledged',
          );
          // Closed by us: not the broker handing the session to another client.
          this.errored = true;
          stream?.destroy();
          return false;
        },
      );
      if (packet.messageId === undefined) {
        void written.then((ok) => ok && callback());
        return;
      }
      if (order.stream !== stream) order = { stream, last: Promise.resolve() };
      const messageId = packet.messageId;
      order.last = Promise.all([order.last, written]).then(([, ok]) => {
        if (ok && client.stream === stream && !stream.destroyed && client.connected)
          send({ cmd: 'puback', messageId });
      });
      held = messageId;
      try {
        callback();
      } finally {
        held = undefined;
      }
    };
  }

  /**
   * What was queued at the broker for a session of this feed will never arrive (the feed's identity
   * changed: its topics, broker or client id were edited, so it connects as a new session): said as a
   * lost session.
   */
  identityChanged(lastConnected: Date): void {
    this.sessionLost(
      lastConnected.getTime(),
      `this fob feed's MQTT identity changed (its topics, broker or client id were edited): fob events queued at the broker for its previous session (last connected ${hhmm(lastConnected.getTime())} UTC) were never read — check on staff out now`,
    );
  }

  private sessionLost(since: number, why?: string): void {
    const from = since ? hhmm(since) : 'a moment';
    this.lostSessionUntil = Date.now() + (this.o.lostSessionShowMs ?? 10 * 60_000);
    this.o.log.error(
      { school: this.o.schoolId, since: since ? new Date(since).toISOString() : null },
      'mqtt session LOST by the broker: fob events published while Doorstep was away are not delivered',
    );
    // After a take-over the session went with the other client: both are said (the take-over first).
    const takenOver = Date.now() - this.lastTakeoverAt < (this.o.takeoverQuietMs ?? 60_000);
    this.report({
      state: 'down',
      takenOver: false,
      sessionLost: true,
      reason: `${takenOver ? "another client took over Doorstep's session at the broker, and " : ''}${why ?? `the broker lost Doorstep's session: fob events sent while Doorstep was away (from ${from} UTC) did not arrive — check on staff out now`}`,
    });
    // Said while connected (an identity change is found after the connection is up): the band clears
    // as it would after a reconnect, once it has been shown; never left red for a feed that works.
    if (this.client?.connected) this.upAfterWarnings(this.client);
  }

  /** Reports the feed up once a take-over's quiet time and a lost session's showing are over. */
  private upAfterWarnings(client: MqttClient): void {
    // Connected, but subscribed to nothing the broker would give it (or not yet granted): still down.
    if (this.refused || !this.subscribedNow) return;
    const quiet = this.o.takeoverQuietMs ?? 60_000;
    const wait = Math.max(this.lastTakeoverAt + quiet, this.lostSessionUntil) - Date.now();
    clearTimeout(this.upTimer);
    if (wait <= 0) this.report({ state: 'up' });
    else {
      this.upTimer = setTimeout(
        () => client.connected && !this.refused && this.subscribedNow && this.report({ state: 'up' }),
        wait,
      );
      this.upTimer.unref();
    }
  }

  private takenOver(evidence: string): void {
    this.lastTakeoverAt = Date.now();
    this.o.log.error(
      { school: this.o.schoolId, evidence },
      'mqtt session TAKEN OVER: another client is using Doorstep’s client id; fob alarms may be going to it',
    );
    this.report({
      state: 'down',
      takenOver: true,
      reason: `another client took over Doorstep’s session at the broker (${evidence})`,
    });
  }

  /** `newReason`: a down said again when it is down already, if its reason is not the one last said. */
  private report(status: MqttStatus, newReason = false): void {
    if (status.state === 'up' && this.reported !== 'down') {
      this.reported = 'up';
      return;
    }
    if (
      status.state === 'down' &&
      this.reported === 'down' &&
      !status.takenOver &&
      !status.sessionLost &&
      !(newReason && status.reason !== this.downReason)
    )
      return;
    this.reported = status.state;
    this.downReason = status.state === 'down' ? status.reason : undefined;
    if (status.state === 'up') this.o.log.warn({ school: this.o.schoolId }, 'mqtt fob events arriving again');
    else if (!status.takenOver)
      this.o.log.error({ school: this.o.schoolId, reason: status.reason }, 'mqtt fob events NOT arriving');
    this.o.onStatus?.(status);
  }

  /**
   * A QoS 0 message: sent once, and never kept by the broker for us — this copy is the only one, and
   * there is nothing to acknowledge. It is let go at once (nothing behind it on the connection, a QoS 1
   * SOS or the broker's ping answer, waits on it) and its write tried in the background until it is
   * stored: through a database restart or failover, for up to `QOS0_RETRY_MS`, at most
   * `MAX_QOS0_PENDING` at a time. One that cannot be stored in that time is lost, said loudly.
   */
  private takeQos0(packet: IPublishPacket, callback: () => void): void {
    callback();
    if (this.qos0Pending >= MAX_QOS0_PENDING) {
      this.o.log.error(
        { school: this.o.schoolId, pending: this.qos0Pending },
        'a QoS 0 fob event is lost: too many QoS 0 events wait for the database (gateways should publish at QoS 1)',
      );
      return;
    }
    this.qos0Pending++;
    this.handle(packet, QOS0_RETRY_MS)
      .catch((err: unknown) =>
        this.o.log.error(
          { err, school: this.o.schoolId },
          'a QoS 0 fob event could not be stored and is lost (the broker never sends QoS 0 again; gateways should publish at QoS 1)',
        ),
      )
      .finally(() => {
        this.qos0Pending--;
      });
  }

  private async handle(packet: IPublishPacket, retryForMs?: number): Promise<void> {
    const raw = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const t = this.o.transport;
    const sig = packet.properties?.userProperties?.[DEVICE_SIGNATURE_PROPERTY];
    const deviceId = t.deviceBinding === 'topic' ? deviceFromTopic(t.topics, packet.topic) : null;
    const receivedAt = this.now();
    const retainedAgain = this.seen(packet, raw, receivedAt);
    const arrival: MqttArrival = {
      receivedAt,
      source: packet.topic,
      deviceId,
      ...(t.deviceBinding === 'topic' && deviceId === null ? { deviceMissing: true } : {}),
      signature: Array.isArray(sig) ? sig.join(' ') : (sig ?? null),
      ...(retainedAgain ? { retainedAgain } : {}),
    };
    const until = retryForMs === undefined ? undefined : Date.now() + retryForMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.accept(raw, arrival);
        return;
      } catch (err) {
        // A QoS 1 message not stored after five tries (~3 s) is left to the broker: the connection is
        // dropped unacknowledged and it is redelivered. A QoS 0 one (`retryForMs`) is tried for longer,
        // at most every 5 s: no one will send it again.
        const giveUp = until === undefined ? attempt >= 5 : this.stopping || Date.now() >= until;
        if (giveUp) throw err;
        if (attempt === 5)
          this.o.log.warn(
            { err, school: this.o.schoolId },
            'a QoS 0 fob event could not be stored yet: still trying (the broker will not send it again)',
          );
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5_000)));
      }
    }
  }

  /**
   * Notes a message as the last on its topic, and says whether it is a retained copy sent again: the
   * retain flag set on a session that resumed (on a new session — the broker lost Doorstep's — a
   * retained message may be an alarm Doorstep never received, and is taken as any other). Brokers
   * forward a live message with the flag clear (MQTT 5 retain-as-published is not asked for), and a
   * resumed session's queue the same: the flag on a resumed session, just after a reconnect
   * (`RETAINED_COPIES_MS`), is the broker sending what it retains again (a broker that ignores retain
   * handling 1), or a retained message in flight when the connection dropped, redelivered — the first
   * time it was received here is when its copy was.
   * Counted and the first of a connection logged (the topic names a device: never logged).
   */
  private seen(
    packet: IPublishPacket,
    raw: Buffer,
    receivedAt: Date,
  ): { firstSeenAt: Date | null } | undefined {
    const digest = createHash('sha256').update(raw).digest('base64url');
    const last = this.lastOnTopic.get(packet.topic);
    this.lastOnTopic.delete(packet.topic);
    if (this.lastOnTopic.size >= TOPICS_REMEMBERED) {
      const oldest = this.lastOnTopic.keys().next();
      if (!oldest.done) this.lastOnTopic.delete(oldest.value);
    }
    const again = packet.retain === true && this.sessionResumed && Date.now() <= this.copiesUntil;
    const firstSeenAt = !again ? receivedAt : last?.digest === digest ? last.firstSeenAt : null;
    this.lastOnTopic.set(packet.topic, { digest, firstSeenAt });
    if (packet.retain === true) {
      this.o.onRetained?.(this.sessionResumed);
      if (this.retainedOnConnection++ === 0)
        this.o.log.warn(
          { school: this.o.schoolId, resumed: this.sessionResumed },
          this.sessionResumed
            ? 'mqtt retained message sent again on a resumed session: taken as the copy it is (gateways should not publish fob events with retain)'
            : 'mqtt retained message on a new session: taken as any message (gateways should not publish fob events with retain)',
        );
    }
    return again ? { firstSeenAt } : undefined;
  }

  /** Stops taking messages; unacknowledged ones stay with the broker for the next session. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.downTimer);
    clearTimeout(this.upTimer);
    clearTimeout(this.resubscribeTimer);
    const c = this.client;
    if (!c) return;
    await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
  }
}

/** MQTT.js failing a SUBSCRIBE because its connection closed before the SUBACK (no answer, no refusal). */
function closedBeforeSuback(err: unknown): boolean {
  return err instanceof Error && err.message === 'Connection closed' && !(err as { packet?: Suback }).packet;
}

/** HH:MM (UTC) of an instant, as the board's lost-session line says it. */
function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}
