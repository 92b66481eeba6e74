import { createHash } from 'node:crypto';
import {
  MqttFobTransport,
  type MqttStatus,
  type MqttTransportConfig,
} from '../../connectors/fob/mqtt/transport.ts';
import type { SchoolConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import { publishBoardEvents } from '../store/board.ts';
import {
  mqttClientId,
  mqttSessionSeenAt,
  noteMqttSession,
  renameTransportKey,
  setIngestStatus,
  takeOrphanedMqttSessions,
} from '../store/ingest-status.ts';
import { type AcceptOutcome, acceptFobPayload } from './accept.ts';
import { FeedLastEvent } from './feed-last-event.ts';
import type { IngestDeps } from './ingest-types.ts';

/** A transport's stable key: its broker and topics, in any order (reordering the config keeps the session). */
export function mqttTransportKey(t: Pick<MqttTransportConfig, 'url' | 'topics'>): string {
  return keyOf(t.url, [...t.topics].sort());
}

/** The key as versions before 053 made it (topics in config order): renamed to the key above on start. */
function legacyTransportKey(t: Pick<MqttTransportConfig, 'url' | 'topics'>): string {
  return keyOf(t.url, t.topics);
}

function keyOf(url: string, topics: readonly string[]): string {
  const digest = createHash('sha256')
    .update(`${url}\n${topics.join('\n')}`)
    .digest('hex');
  return `mqtt:${new URL(url).host}:${digest.slice(0, 12)}`;
}

/**
 * One school's MQTT fob feed: the transport, with its client id (configured, else generated once
 * and kept), every message through `acceptFobPayload`, and its connection state on the board
 * (`ingest.disconnected` / `ingest.restored`) and in /metrics, and when it last received anything.
 */
export async function startMqttFeed(o: {
  deps: IngestDeps;
  school: SchoolConfig;
  transport: MqttTransportConfig;
  log: Logger;
  /** Told of every state change (for /metrics). */
  onState?: (labels: { school: string; transport: string }, status: MqttStatus) => void;
  /** Told of every message with the retain flag set (for /metrics). */
  onRetained?: (labels: { school: string; transport: string }, resumed: boolean) => void;
  /** Appended to the client id when several connections or instances share the transport. */
  instance?: string | undefined;
  /** With `transport.shared`: this instance's share group (`shareGroup`). */
  shareGroup?: string | undefined;
  takeoverQuietMs?: number;
  /** How long a session the broker lost is shown (tests). */
  lostSessionShowMs?: number;
  /** How often filters the broker refused are asked for again (tests). */
  resubscribeRefusedMs?: number;
}): Promise<MqttFobTransport> {
  const { deps, school, transport } = o;
  const key = mqttTransportKey(transport);
  await renameTransportKey(deps.db, school.id, legacyTransportKey(transport), key);
  const base = transport.clientId ?? (await mqttClientId(deps.db, school.id, key));
  const clientId = o.instance ? `${base}-${o.instance}` : base;
  // Every MQTT transport the school has now: a session kept for any other is one no one reads.
  const configured = school.fobs.transports.flatMap((x) => (x.kind === 'mqtt' ? [mqttTransportKey(x)] : []));
  let firstConnack = true;
  let statusWrites: Promise<void> = Promise.resolve();
  const labels = { school: school.id, transport: key };
  // When the broker last sent a message Doorstep took, for the board ("last event from the broker N s ago").
  const lastEvent = new FeedLastEvent({ db: deps.db, schoolId: school.id, transportKey: key, log: o.log });
  const t = new MqttFobTransport({
    schoolId: school.id,
    transport,
    clientId,
    log: o.log,
    heldBefore: await mqttSessionSeenAt(deps.db, school.id, clientId),
    onConnected: () => {
      const first = firstConnack;
      firstConnack = false;
      void (async () => {
        await noteMqttSession(deps.db, {
          schoolId: school.id,
          clientId,
          clientIdBase: base,
          transportKey: key,
          at: new Date(),
        });
        if (!first) return;
        const orphaned = await takeOrphanedMqttSessions(deps.db, school.id, configured, {
          transportKey: key,
          clientIdBase: base,
        });
        if (orphaned) t.identityChanged(orphaned);
      })().catch((err: unknown) =>
        o.log.error({ err, school: school.id }, 'could not record the fob feed’s MQTT session'),
      );
    },
    ...(o.takeoverQuietMs !== undefined ? { takeoverQuietMs: o.takeoverQuietMs } : {}),
    ...(o.lostSessionShowMs !== undefined ? { lostSessionShowMs: o.lostSessionShowMs } : {}),
    ...(o.resubscribeRefusedMs !== undefined ? { resubscribeRefusedMs: o.resubscribeRefusedMs } : {}),
    ...(o.shareGroup ? { shareGroup: o.shareGroup } : {}),
    ...(o.onRetained ? { onRetained: (resumed: boolean) => o.onRetained?.(labels, resumed) } : {}),
    accept: async (raw, arrival) => {
      const outcome = await acceptFobPayload(deps, school, transport, raw, arrival);
      // Only a message taken (stored or refused for good) counts as an event from the broker: one the
      // broker redelivers because it could not be stored must not keep the board's feed looking live.
      // One refused is counted as such: a feed whose every message is refused is not arriving.
      noteOutcome(lastEvent, arrival.receivedAt, outcome);
    },
    onStatus: (status) => {
      o.onState?.(labels, status);
      const at = new Date();
      // One after another, in the order told: a take-over and the lost session it brought are said
      // together, and the status row must end as the later one, not whichever write landed last.
      statusWrites = statusWrites
        .then(() =>
          setIngestStatus(deps.db, {
            schoolId: school.id,
            transportKey: key,
            state: status.state,
            reason: status.state === 'down' ? status.reason : null,
            at,
          }),
        )
        .then((e) => publishBoardEvents(deps.publisher, deps.prefix, [e]))
        .catch((err: unknown) =>
          o.log.error({ err, school: school.id }, 'could not record the fob feed state'),
        );
    },
  });
  t.start();
  return t;
}

/** A feed's message taken or refused, for its status (`FeedLastEvent`). */
export function noteOutcome(feed: FeedLastEvent, at: Date, outcome: AcceptOutcome): void {
  if (outcome.outcome === 'invalid') feed.refused(at, `${outcome.field}: ${outcome.reason}`);
  else if (outcome.outcome === 'refused') feed.refused(at, outcome.reason);
  else feed.taken(at);
}
