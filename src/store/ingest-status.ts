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

/** The feeds of a school that are not arriving, for the board's banner. */
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
 * A message arrived on a school's MQTT feed at `at` (the ingest role, at most every few seconds per
 * feed): kept on the feed's row so every process — the board runs in the web role — can say when
 * the broker last sent anything. A later time never goes back.
 */
export async function noteFeedEvent(
  db: Queryable,
  s: { schoolId: string; transportKey: string; at: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO ingest_status (school_id, transport_key, state, reason, since, updated_at, last_event_at)
     VALUES ($1, $2, 'up', NULL, $3, now(), $3)
     ON CONFLICT (school_id, transport_key) DO UPDATE
       SET last_event_at = GREATEST(ingest_status.last_event_at, EXCLUDED.last_event_at)`,
    [s.schoolId, s.transportKey, s.at],
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
    broker: school.fobs.transports.some((t) => t.kind === 'mqtt')
      ? brokerSilence(await brokerLastEventAt(db, school.id), now, school.fobs.brokerSilenceSeconds)
      : null,
  };
}
