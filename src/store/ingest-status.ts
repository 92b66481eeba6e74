import { randomBytes } from 'node:crypto';
import { type BrokerSilence, brokerSilence } from '../domain/fob/broker-silence.ts';
import { type BoardEventRow, insertBoardEvent } from './board.ts';
import type { Db, Queryable } from './db.ts';

/**
 * The client id of one MQTT transport: generated once (`doorstep-<school>-<128 random bits>`, so no
 * one can guess it and take the session over) and kept, so the broker's persistent session survives
 * restarts. Concurrent first starts agree on one id.
 */
export async function mqttClientId(db: Queryable, schoolId: string, transportKey: string): Promise<string> {
  const fresh = `doorstep-${schoolId.slice(0, 24)}-${randomBytes(16).toString('hex')}`;
  await db.query(
    `INSERT INTO mqtt_client_ids (school_id, transport_key, client_id) VALUES ($1, $2, $3)
     ON CONFLICT (school_id, transport_key) DO NOTHING`,
    [schoolId, transportKey, fresh],
  );
  const { rows } = await db.query<{ client_id: string }>(
    'SELECT client_id FROM mqtt_client_ids WHERE school_id = $1 AND transport_key = $2',
    [schoolId, transportKey],
  );
  return rows[0]!.client_id;
}

/** When Doorstep last connected with this MQTT session, if it ever held it (`mqtt_sessions`). */
export async function mqttSessionSeenAt(
  db: Queryable,
  schoolId: string,
  clientId: string,
): Promise<Date | null> {
  const { rows } = await db.query<{ seen_at: Date }>(
    'SELECT seen_at FROM mqtt_sessions WHERE school_id = $1 AND client_id = $2',
    [schoolId, clientId],
  );
  return rows[0] ? new Date(rows[0].seen_at) : null;
}

/** This MQTT session is held at its broker now (a CONNACK came for it). */
export async function noteMqttSession(
  db: Queryable,
  s: { schoolId: string; clientId: string; clientIdBase: string; transportKey: string; at: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO mqtt_sessions (school_id, client_id, transport_key, seen_at, client_base) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (school_id, client_id) DO UPDATE SET transport_key = EXCLUDED.transport_key,
       seen_at = greatest(mqtt_sessions.seen_at, EXCLUDED.seen_at), client_base = EXCLUDED.client_base`,
    [s.schoolId, s.clientId, s.transportKey, s.at, s.clientIdBase],
  );
}

/**
 * The school's sessions no one will read again, taken once: those of transports no longer configured
 * (topics or broker edited), and those of this transport under a client id it no longer connects as
 * (its `clientId` edited: recorded under another base; a session recorded before bases were kept,
 * when neither `base` nor `base-<instance>`). Whatever was queued for them will
 * never be read. Returns when the last of them was connected.
 */
export async function takeOrphanedMqttSessions(
  db: Queryable,
  schoolId: string,
  configuredKeys: readonly string[],
  own: { transportKey: string; clientIdBase: string },
): Promise<Date | null> {
  const { rows } = await db.query<{ seen_at: Date }>(
    `DELETE FROM mqtt_sessions WHERE school_id = $1
       AND (NOT (transport_key = ANY($2::text[]))
            OR (transport_key = $3 AND (client_base <> $4
                OR (client_base IS NULL AND client_id <> $4 AND left(client_id, length($4) + 1) <> $4 || '-'))))
     RETURNING seen_at`,
    [schoolId, [...configuredKeys], own.transportKey, own.clientIdBase],
  );
  if (rows.length === 0) return null;
  return new Date(Math.max(...rows.map((r) => new Date(r.seen_at).getTime())));
}

/**
 * A transport's key as an earlier version made it (its topics in config order) becomes its key now:
 * the same session, status and client id, not a new one.
 */
export async function renameTransportKey(
  db: Queryable,
  schoolId: string,
  from: string,
  to: string,
): Promise<void> {
  if (from === to) return;
  for (const table of ['mqtt_client_ids', 'ingest_status'] as const)
    await db.query(
      `UPDATE ${table} SET transport_key = $3 WHERE school_id = $1 AND transport_key = $2
         AND NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.school_id = $1 AND t.transport_key = $3)`,
      [schoolId, from, to],
    );
}

/**
 * Records whether a school's fob feed is arriving and writes the board event that says so
 * (`ingest.disconnected` / `ingest.restored`), in one transaction; the caller publishes it.
 */
export async function setIngestStatus(
  db: Db,
  s: { schoolId: string; transportKey: string; state: 'up' | 'down'; reason: string | null; at: Date },
): Promise<BoardEventRow> {
  return db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO ingest_status (school_id, transport_key, state, reason, since, updated_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (school_id, transport_key) DO UPDATE SET state = $3, reason = $4,
         since = CASE WHEN ingest_status.state = $3 THEN ingest_status.since ELSE $5 END, updated_at = now()`,
      [s.schoolId, s.transportKey, s.state, s.reason, s.at],
    );
    return insertBoardEvent(tx, s.schoolId, s.state === 'down' ? 'ingest.disconnected' : 'ingest.restored', {
      transport: s.transportKey,
      ...(s.reason ? { reason: s.reason } : {}),
    });
  });
}

/**
 * Messages refused in a row, since the last one taken, from which a feed is said to be refusing
 * everything: one or two (a stray request to the webhook, one bad message) say little.
 */
export const REFUSING_AFTER = 3;

/** The feeds of a school that are not arriving, for the board's banner: those whose connection is down. */
export async function ingestProblems(db: Queryable, schoolId: string) {
  const { rows } = await db.query<{ transport_key: string; reason: string | null; since: Date }>(
    `SELECT transport_key, reason, since FROM ingest_status WHERE school_id = $1 AND state = 'down' ORDER BY since`,
    [schoolId],
  );
  return rows.map((r) => ({
    transport: r.transport_key,
    reason: r.reason,
    since: new Date(r.since).toISOString(),
  }));
}

/**
 * The feeds of a school whose every message since a time is refused (`REFUSING_AFTER` or more in a
 * row, none taken since), for the data manager: a webhook secret rotated on one side only, a vendor's
 * new format, a clock minutes out. Not on the board: anyone can send a webhook a request it refuses,
 * and a gateway's own chatter refused by design would raise and lower it all day.
 */
export async function refusingFeeds(db: Queryable, schoolId: string) {
  const { rows } = await db.query<{
    transport_key: string;
    refused: number;
    first_refused_at: Date;
    last_refused_reason: string | null;
  }>(
    `SELECT transport_key, refused_since_taken AS refused, first_refused_at, last_refused_reason
     FROM ingest_status WHERE school_id = $1 AND refused_since_taken >= $2 AND first_refused_at IS NOT NULL
     ORDER BY first_refused_at`,
    [schoolId, REFUSING_AFTER],
  );
  return rows.map((r) => ({
    transport: r.transport_key,
    refused: r.refused,
    since: new Date(r.first_refused_at).toISOString(),
    reason: r.last_refused_reason,
  }));
}

/** What one feed received since its last write: the latest arrival, the latest taken, refusals after it. */
export interface FeedTally {
  schoolId: string;
  transportKey: string;
  /** The latest message that arrived (taken or refused for good). */
  at: Date;
  /** The latest message taken (stored, or an exact redelivery): the refusals before it are cleared. */
  takenAt?: Date | null;
  /** Messages refused after the latest taken: how many, the first's time and the last's reason. */
  refused?: { count: number; firstAt: Date; reason: string } | null;
}

/**
 * A feed's messages (the ingest role and the webhook route, at most every few seconds per feed): when
 * the last arrived — kept so every process can say when the broker last sent anything, a later time
 * never going back — and how many have been refused since the last one taken.
 */
export async function noteFeedEvent(db: Queryable, s: FeedTally): Promise<void> {
  const r = s.refused ?? null;
  await db.query(
    `INSERT INTO ingest_status (school_id, transport_key, state, reason, since, updated_at, last_event_at,
                                last_taken_at, refused_since_taken, first_refused_at, last_refused_reason)
     VALUES ($1, $2, 'up', NULL, $3, now(), $3, $4, $5, $6, $7)
     ON CONFLICT (school_id, transport_key) DO UPDATE
       SET last_event_at = GREATEST(ingest_status.last_event_at, EXCLUDED.last_event_at),
           last_taken_at = GREATEST(ingest_status.last_taken_at, EXCLUDED.last_taken_at),
           refused_since_taken = CASE WHEN $4::timestamptz IS NOT NULL THEN $5
                                      ELSE ingest_status.refused_since_taken + $5 END,
           first_refused_at = CASE WHEN $4::timestamptz IS NOT NULL THEN $6::timestamptz
                                   ELSE coalesce(ingest_status.first_refused_at, $6::timestamptz) END,
           last_refused_reason = coalesce($7, ingest_status.last_refused_reason)`,
    [
      s.schoolId,
      s.transportKey,
      s.at,
      s.takenAt ?? null,
      r?.count ?? 0,
      r?.firstAt ?? null,
      r?.reason ?? null,
    ],
  );
}

/** When the broker last sent anything on any of a school's MQTT feeds (null: nothing yet). */
export async function brokerLastEventAt(db: Queryable, schoolId: string): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | string | null }>(
    `SELECT max(last_event_at) AS at FROM ingest_status WHERE school_id = $1 AND transport_key LIKE 'mqtt:%'`,
    [schoolId],
  );
  const at = rows[0]?.at;
  return at ? new Date(at) : null;
}

/** What the board and the data page both say of a school's fob feeds: one read, one answer. */
export interface FobFeedStatus {
  /** Feeds whose connection is down now, since when and why. */
  down: Awaited<ReturnType<typeof ingestProblems>>;
  /** When the broker last sent anything, and whether that is past `fobs.brokerSilenceSeconds` (null: no MQTT feed). */
  broker: BrokerSilence | null;
  /** Feeds whose every message since a time is refused (the data page's, not the board's). */
  refusing: Awaited<ReturnType<typeof refusingFeeds>>;
}

/**
 * A school's fob feeds as the board and the data page show them (null: the school has none): the
 * connections that are down and the broker's silence, read from `ingest_status` at `now`.
 */
export async function fobFeedStatus(
  db: Queryable,
  school: {
    id: string;
    fobs: { transports: readonly { kind: string }[]; brokerSilenceSeconds: number };
  },
  now: Date,
): Promise<FobFeedStatus | null> {
  if (!school.fobs.transports.length) return null;
  return {
    down: await ingestProblems(db, school.id),
    refusing: await refusingFeeds(db, school.id),
    broker: school.fobs.transports.some((t) => t.kind === 'mqtt')
      ? brokerSilence(await brokerLastEventAt(db, school.id), now, school.fobs.brokerSilenceSeconds)
      : null,
  };
}
