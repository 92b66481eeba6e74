import type { FobEvent } from '../domain/fob/event.ts';
import type { BoardEventRow } from './board.ts';
import type { Queryable } from './db.ts';

/** The alarm an exact redelivery of a device event raised the first time, if any. */
export async function alarmForEvent(
  db: Queryable,
  schoolId: string | readonly string[],
  deviceId: string,
  vendorEventId: string,
  contentHash: string,
): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT a.id FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
     WHERE e.school_id = ANY($1::text[]) AND e.device_id = $2 AND e.vendor_event_id = $3 AND e.content_hash = $4
     ORDER BY a.id LIMIT 1`,
    [typeof schoolId === 'string' ? [schoolId] : [...schoolId], deviceId, vendorEventId, contentHash],
    { timeoutMs: ALARM_PATH_TIMEOUT_MS },
  );
  return rows[0] ? String(rows[0].id) : null;
}

/**
 * A trusted copy of an alarm (no trust issue: signed by its device, say) met its stored twin — the
 * same school, device, event id and content — and that twin's alarm was raised untrusted (an unsigned
 * copy the vendor's relay carried first). Only such a twin is returned (null, the usual answer: none,
 * or the twin was trusted). While the alarm stands (open or acknowledged) it is verified in the same
 * statement: its and its event's trust issue cleared, `note` on its timeline with the doubt it was
 * raised with, an audit entry and a board event (`alarm.verified`: open boards drop "Not verified").
 * A resolved one (as forged, perhaps) is left as it is and said so (`resolved`): the caller raises the
 * device's own press anew.
 */
export async function verifyUntrustedTwin(
  db: Queryable,
  q: {
    /** Where the event may have been written: the school it was raised at, and where it arrived (`IngestWrite.heldAt`). */
    schoolIds: readonly string[];
    deviceId: string;
    vendorEventId: string;
    contentHash: string;
    note: string;
  },
): Promise<{
  alarmId: string;
  /** The alarm was resolved (how: its resolution reason), so not verified. */
  resolved: { reason: string | null } | null;
  /** The board event written for the alarm verified. */
  board: BoardEventRow | null;
} | null> {
  const { rows } = await db.query<{
    id: string;
    status: string;
    resolution_reason: string | null;
    board_id: string | null;
    school_id: string;
  }>(
    `WITH twin AS (
       SELECT a.id, a.school_id, a.fob_event_id, a.status, a.resolution_reason, a.trust_issue
       FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
       WHERE e.school_id = ANY($1::text[]) AND e.device_id = $2 AND e.vendor_event_id = $3 AND e.content_hash = $4
         AND a.trust_issue IS NOT NULL
       ORDER BY a.id LIMIT 1
       FOR UPDATE OF a
     ), standing AS (
       SELECT * FROM twin WHERE status <> 'resolved'
     ), al AS (
       UPDATE alarms a SET trust_issue = NULL FROM standing s WHERE a.id = s.id
     ), ev AS (
       UPDATE fob_events e SET trust_issue = NULL FROM standing s WHERE e.id = s.fob_event_id
     ), tl AS (
       INSERT INTO alarm_timeline (alarm_id, event, by_whom)
       SELECT id, $5 || ' (it was raised not verified: ' || trust_issue || ')', NULL FROM standing
     ), au AS (
       INSERT INTO audit_log (actor, action, school_id, entity_type, entity_id, before, after)
       SELECT 'system:fob-ingest', 'alarm.verified', school_id, 'alarm', id::text,
              jsonb_build_object('trustIssue', trust_issue), jsonb_build_object('trustIssue', NULL)
       FROM standing
     ), be AS (
       INSERT INTO board_events (school_id, type, payload)
       SELECT school_id, 'alarm.verified', jsonb_build_object('alarmId', id::text) FROM standing
       RETURNING id
     )
     SELECT t.id, t.school_id, t.status, t.resolution_reason, (SELECT id FROM be) AS board_id FROM twin t`,
    [[...q.schoolIds], q.deviceId, q.vendorEventId, q.contentHash, q.note],
    { timeoutMs: ALARM_PATH_TIMEOUT_MS },
  );
  const r = rows[0];
  if (!r) return null;
  const alarmId = String(r.id);
  return {
    alarmId,
    resolved: r.status === 'resolved' ? { reason: r.resolution_reason } : null,
    board:
      r.board_id == null
        ? null
        : { id: String(r.board_id), schoolId: r.school_id, type: 'alarm.verified', payload: { alarmId } },
  };
}

/**
 * The open alarm raised for a message of this feed (school, transport, profile) whose body could not
 * be read (its trust issue begins `issuePrefix`) for this device — over MQTT the device its topic
 * names, over a webhook or on a topic that names none `UNREADABLE_DEVICE` — if any: one at a time per device and feed, further
 * unreadable messages going on its timeline. Only such an alarm: one raised for a body that was read
 * but named no device Doorstep could read is another press, never folded into. Only while it is
 * `open` (unacknowledged, its ladder still paging): once the office has acknowledged it, paging has
 * stopped, and a further unreadable message (another worker's SOS in the same new format) folded in
 * would page no one — it raises a new alarm instead.
 */
export function openUnreadableBodyAlarm(
  db: Queryable,
  q: {
    schoolId: string;
    transport: 'mqtt' | 'webhook';
    device: string;
    profile: string;
    issuePrefix: string;
  },
): Promise<{ id: string; eventId: string } | null> {
  return openAlarmOfCause(db, { ...q, claimedDevice: undefined });
}

/**
 * The open alarm raised for an event of this feed (school, transport, profile) that was an alarm
 * only for want of a type Doorstep knows (missing, or one no map names: its trust issue begins
 * `issuePrefix`, which names that type), from this device (as stored: over MQTT the topic's) and
 * naming the same device in its payload (`claimedDevice`: null where it named the transport's own):
 * one open at a time per device, feed and cause, as for a body that could not be read
 * (`openUnreadableBodyAlarm`). Only while it is `open`: once acknowledged, paging has stopped, and the
 * next such event raises anew.
 */
export async function openAlarmOfCause(
  db: Queryable,
  q: {
    schoolId: string;
    transport: 'mqtt' | 'webhook';
    device: string;
    /** `undefined`: whatever device the payload named (an unreadable body names none). */
    claimedDevice: string | null | undefined;
    profile: string;
    issuePrefix: string;
  },
): Promise<{ id: string; eventId: string } | null> {
  const claimed = q.claimedDevice === undefined ? [] : [q.claimedDevice];
  const { rows } = await db.query<{ id: string; vendor_event_id: string }>(
    `SELECT a.id, e.vendor_event_id FROM alarms a JOIN fob_events e ON e.id = a.fob_event_id
     WHERE a.school_id = $1 AND a.status = 'open' AND e.transport = $5 AND e.profile = $2
       AND starts_with(a.trust_issue, $3) AND e.device_id = $4
       ${claimed.length ? 'AND e.claimed_device_id IS NOT DISTINCT FROM $6' : ''}
     ORDER BY a.id LIMIT 1`,
    [q.schoolId, q.profile, q.issuePrefix, q.device, q.transport, ...claimed],
    { timeoutMs: ALARM_PATH_TIMEOUT_MS },
  );
  const r = rows[0];
  return r ? { id: String(r.id), eventId: r.vendor_event_id } : null;
}

/** Whether an alarm is still `open` (unacknowledged, its ladder paging): read on the alarm path. */
export async function alarmStillOpen(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query<{ open: boolean }>(
    `SELECT status = 'open' AS open FROM alarms WHERE id = $1`,
    [id],
    { timeoutMs: ALARM_PATH_TIMEOUT_MS },
  );
  return rows[0]?.open === true;
}

/**
 * How long a statement on the alarm path (an event's write, its alarm looked up, a refused payload
 * kept) may go unanswered before it is given up and its connection closed: the message is then not
 * acknowledged, and is retried on a new connection or redelivered — never held for the ~15 minutes a
 * silent server (a failover, a partition) takes TCP to notice, with every alarm behind it waiting.
 */
export const ALARM_PATH_TIMEOUT_MS = 10_000;

/** How much of a rejected payload is kept (enough to see what a gateway sent; junk is not hoarded). */
export const REJECTED_RAW_MAX_BYTES = 4096;

/** A payload that was not accepted, kept with the reason (the first REJECTED_RAW_MAX_BYTES of it). */
export async function insertRejected(
  db: Queryable,
  r: {
    schoolId: string;
    transport: string;
    profile: string;
    source: string | null;
    reason: string;
    raw: Buffer;
    /** Its whole length, where `raw` is only its start (a body over its bound, not held). */
    bytes?: number;
  },
): Promise<void> {
  const kept = r.raw.subarray(0, REJECTED_RAW_MAX_BYTES).toString('utf8').replaceAll('\u0000', '');
  await db.query(
    `INSERT INTO rejected_events (school_id, transport, profile, source, reason, raw, raw_bytes)
     VALUES ($1, $2, $3, left($4, 1024), left($5, 1024), $6, $7)`,
    [r.schoolId, r.transport, r.profile, r.source, r.reason, kept, r.bytes ?? r.raw.length],
    { timeoutMs: ALARM_PATH_TIMEOUT_MS },
  );
}

/**
 * Board events after `afterId`, in id order. With `lookbackSeconds`, also those created in the
 * seconds before `afterId` was (a writer that committed late may have a smaller id).
 */
export async function boardEventsAfter(
  db: Queryable,
  schoolId: string,
  afterId: string,
  limit = 500,
  lookbackSeconds = 0,
) {
  const { rows } = await db.query<{ id: string; type: string; payload: Record<string, unknown> }>(
    `SELECT id, type, payload FROM board_events WHERE school_id = $1 AND (id > $2 OR ($4 > 0 AND created_at >=
       (SELECT created_at FROM board_events WHERE id = $2) - make_interval(secs => $4)))
     ORDER BY id LIMIT $3`,
    [schoolId, afterId, limit, lookbackSeconds],
  );
  return rows.map((r) => ({ id: String(r.id), type: r.type, payload: r.payload }));
}

export interface IngestWrite {
  schoolId: string;
  /** The event as assessed: the transport's device, a believable time for an alarm. */
  event: FobEvent;
  staffId: string | null;
  transport: 'mqtt' | 'webhook';
  profile: string;
  raw: string;
  contentHash: string;
  claimedDeviceId: string | null;
  trustIssue: string | null;
  clockSkewMs: number | null;
  isAlarm: boolean;
  /** The board event's payload (ids only); the alarm id is added. */
  boardPayload: Record<string, unknown>;
  /** The escalation policy, snapshotted onto the alarm. */
  policy: unknown;
  /**
   * An alarm routed from the school whose feed brought it (`schoolId` is then the school that
   * registers the device): that school, its ladder for the alarm and the name of the school it is
   * routed to. A visit out at `schoolId` here that holds the device keeps the alarm here, its own.
   */
  heldAt?: { schoolId: string; policy: unknown; registeredAt: string } | undefined;
}

export interface WriteResult {
  eventId: string | null;
  alarmId: string | null;
  boardId: string | null;
  idConflict: boolean;
  /**
   * Where and whose a new alarm was raised: as written, or — the device held by a visit out at the
   * school it arrived at (`visitId`: that visit, which the visit watcher ties it to) — that visit's,
   * at that school, under its lead's staff id.
   */
  raised?: { schoolId: string; staffId: string | null; visitId: string | null };
}

/** One accepted fob event's durable write (a batch of one: see `writeFobEvents`). */
export async function writeFobEvent(db: Queryable, w: IngestWrite): Promise<WriteResult> {
  return (await writeFobEvents(db, [w]))[0]!;
}

/**
 * The whole durable write of a group of accepted fob events as ONE statement (so one round trip and
 * one commit — one WAL flush — for the group, atomic without an explicit transaction; the statement
 * lives in `write_fob_alarms` / `write_fob_reports`, migrations 016 and 078): each event's
 * row (once per device, event id and content), and for an alarm the alarm, its timeline, its audit
 * entry and its board event. An event from a device that a visit out at the school holds (the fob it
 * left with, `visits.fob_device_id`) is that visit's, whatever the registry now says: its lead's
 * staff id, the reassignment said on the alarm's timeline (migration 078). The same id seen before
 * with other content — in the table or earlier in the group — is flagged `id_conflict` (and still
 * raises its alarm). Returns one result per input, in order, with nulls where nothing was written
 * (an exact redelivery, also one repeated in the group).
 * A location or battery report writes one row and two index entries, nothing else.
 */
export async function writeFobEvents(db: Queryable, ws: readonly IngestWrite[]): Promise<WriteResult[]> {
  const results: WriteResult[] = ws.map(() => ({
    eventId: null,
    alarmId: null,
    boardId: null,
    idConflict: false,
  }));
  const seen = new Set<string>();
  const ids = new Map<string, string>();
  const rows: Record<string, unknown>[] = [];
  const policies: unknown[] = [];
  const index: number[] = [];
  ws.forEach((w, i) => {
    const ev = w.event;
    const id = `${w.schoolId}\u0000${ev.deviceId}\u0000${ev.vendorEventId}`;
    const key = `${id}\u0000${w.contentHash}`;
    if (seen.has(key)) return; // repeated in this group: an exact redelivery of the first
    seen.add(key);
    const earlier = ids.get(id);
    ids.set(id, w.contentHash);
    index.push(i);
    rows.push({
      school_id: w.schoolId,
      device_id: ev.deviceId,
      vendor_event_id: ev.vendorEventId,
      type: ev.type,
      occurred_at: ev.occurredAt,
      received_at: ev.receivedAt,
      staff_id: w.staffId,
      location: ev.location ?? null,
      battery_percent: ev.batteryPercent,
      message: ev.message,
      voice_note_url: ev.voiceNoteUrl,
      transport: w.transport,
      profile: w.profile,
      raw: w.raw,
      content_hash: w.contentHash,
      claimed_device_id: w.claimedDeviceId,
      trust_issue: w.trustIssue,
      clock_skew_ms: w.clockSkewMs,
      is_alarm: w.isAlarm,
      board_payload: w.boardPayload,
      conflict_in_group: earlier !== undefined && earlier !== w.contentHash,
      ...(w.heldAt
        ? {
            held_at: w.heldAt.schoolId,
            held_policy: w.heldAt.policy ?? null,
            registered_at: w.heldAt.registeredAt,
          }
        : {}),
    });
    policies.push(w.isAlarm ? (w.policy ?? null) : null);
  });
  // Plpgsql functions (migration 016): their statement is planned once per connection.
  const fn = rows.some((r) => r.is_alarm) ? 'write_fob_alarms' : 'write_fob_reports';
  const { rows: out } = await db.query<{
    i: number;
    event_id: string;
    alarm_id?: string | null;
    board_id?: string | null;
    id_conflict: boolean;
    school_id?: string | null;
    staff_id?: string | null;
    visit_id?: string | null;
  }>(`SELECT * FROM ${fn}($1::jsonb)`, [groupJson(rows, policies)], { timeoutMs: ALARM_PATH_TIMEOUT_MS });
  for (const r of out) {
    results[index[r.i]!] = {
      eventId: String(r.event_id),
      alarmId: r.alarm_id == null ? null : String(r.alarm_id),
      boardId: r.board_id == null ? null : String(r.board_id),
      idConflict: r.id_conflict === true,
      ...(r.alarm_id != null && r.school_id != null
        ? {
            raised: {
              schoolId: r.school_id,
              staffId: r.staff_id ?? null,
              visitId: r.visit_id == null ? null : String(r.visit_id),
            },
          }
        : {}),
    };
  }
  return results;
}

/** Each ladder's JSON, written once: the alarms of a school share their ladder object (`ladderFor`). */
const policyJson = new WeakMap<object, string>();

/**
 * The group as the write functions read it: each row's JSON with its alarm's ladder snapshot
 * (`policy`) added, the ladder serialised once however many alarms of the group carry it — at
 * thousands of alarms a second, serialising the same ladder again for each was most of the group's
 * JSON and of the garbage it left.
 */
function groupJson(rows: readonly Record<string, unknown>[], policies: readonly unknown[]): string {
  const parts: string[] = [];
  rows.forEach((row, i) => {
    const policy = policies[i];
    let p: string | undefined;
    if (policy !== null && typeof policy === 'object') {
      p = policyJson.get(policy);
      if (p === undefined) {
        p = JSON.stringify(policy);
        policyJson.set(policy, p);
      }
    } else p = JSON.stringify(policy ?? null);
    const json = JSON.stringify(row);
    parts.push(`${json.slice(0, -1)},"policy":${p}}`);
  });
  return `[${parts.join(',')}]`;
}

/** How many times a rehearsal writes: PostgreSQL plans a function's statement afresh on each of a
 * connection's first five runs, and settles on one plan from the sixth. */
const REHEARSALS = 6;

/**
 * A rehearsal of the alarm path's write on a new connection, rolled back: the functions are
 * compiled and their statements planned on this connection's backend before any real alarm needs
 * them (a new connection's first alarm took ~10 ms in the database against ~1 ms after). One made-up
 * alarm per run for a school no config can name (`doorstep:rehearsal`); nothing is kept — only
 * the ids the rolled-back rows took are skipped. Run on a connection its caller holds
 * (`prepareConnections`), so nothing else ever runs inside its transaction; bounded by a statement
 * timeout, so a lock or a stall cannot hold the connection for long.
 */
export async function rehearseAlarmWrite(connection: Queryable): Promise<void> {
  await connection.query('BEGIN');
  try {
    await connection.query(`SET LOCAL statement_timeout = '2s'`);
    for (let k = 0; k < REHEARSALS; k++) {
      const at = new Date().toISOString();
      await connection.query('SELECT * FROM write_fob_alarms($1::jsonb)', [
        JSON.stringify([
          {
            school_id: 'doorstep:rehearsal',
            device_id: 'rehearsal',
            vendor_event_id: `rehearsal-${process.pid}-${Date.now()}-${k}`,
            type: 'sos',
            occurred_at: at,
            received_at: at,
            transport: 'rehearsal',
            profile: 'rehearsal',
            raw: '{}',
            content_hash: 'rehearsal',
            is_alarm: true,
            board_payload: {},
            policy: { levels: [] },
            conflict_in_group: false,
          },
        ]),
      ]);
      await connection.query(`SELECT * FROM write_fob_reports('[]'::jsonb)`);
    }
  } finally {
    await connection.query('ROLLBACK');
  }
}

/** Events whose id was seen before with other content, newest first (for the data manager). */
export async function fobIdConflicts(db: Queryable, schoolId: string, limit = 100) {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT e.id, e.device_id, e.vendor_event_id, e.type, e.received_at, e.transport, e.trust_issue,
            (SELECT a.id FROM alarms a WHERE a.fob_event_id = e.id) AS alarm_id
     FROM fob_events e WHERE e.school_id = $1 AND e.id_conflict ORDER BY e.received_at DESC LIMIT $2`,
    [schoolId, limit],
  );
  return rows.map((r) => ({
    id: String(r.id),
    deviceId: r.device_id as string,
    vendorEventId: r.vendor_event_id as string,
    type: r.type as string,
    receivedAt: new Date(r.received_at as string).toISOString(),
    transport: r.transport as string,
    trustIssue: (r.trust_issue as string | null) ?? null,
    alarmId: r.alarm_id === null ? null : String(r.alarm_id),
  }));
}

/**
 * Takes one step of an alarm's ladder in ONE statement (one round trip and one commit on its own),
 * only if the alarm still stands where the step was decided — at `step`, with `status` — which the
 * statement checks with the row locked (so an acknowledgement that lands in between wins, and a
 * second worker finds the step taken): its notifications (once per alarm × step × target; those in `claimed` claimed for
 * `claimMs` for the step's own first attempt), the timeline entry, and the next step due. The board
 * target is delivered right here: its board event is written in the same transaction and its
 * notification recorded sent (the caller publishes the event after the commit). Returns the new
 * notifications and the board event, if any.
 */
export async function takeEscalationStep(
  tx: Queryable,
  s: {
    alarmId: string;
    schoolId: string;
    step: number;
    /** The alarm's status the step was decided on. */
    status: string;
    targets: readonly string[];
    timeline: string;
    nextStep: number;
    nextDueAt: Date | null;
    /** When the next step is planned on the ladder's own schedule (`decideStep`); default its due time. */
    nextPlannedAt?: Date | null;
    claimMs: number;
    /** The targets the step sends itself (claimed); the others are left to their jobs at once. */
    claimed: readonly string[];
    /** The board event's payload (ids only), for a `board` target. */
    boardPayload: Record<string, unknown>;
  },
): Promise<{
  taken: boolean;
  notifications: { id: string; target: string; status: string }[];
  board: BoardEventRow | null;
}> {
  const { rows } = await tx.query<{
    id: string | null;
    target: string | null;
    status: string | null;
    board_id: string | null;
    taken: boolean;
  }>(
    `WITH cur AS (
       SELECT id FROM alarms WHERE id = $1 AND escalation_step = $2 AND status = $11 FOR UPDATE
     ), be AS (
       INSERT INTO board_events (school_id, type, payload)
       SELECT $9, 'alarm.escalated', $10::jsonb WHERE 'board' = ANY($3::text[]) AND EXISTS (SELECT 1 FROM cur)
         AND NOT EXISTS (SELECT 1 FROM notifications WHERE alarm_id = $1 AND step = $2 AND target = 'board')
       RETURNING id
     ), n AS (
       INSERT INTO notifications (alarm_id, step, target, status, attempts, receipt, sent_at, claimed_until)
       SELECT $1, $2, t,
              CASE WHEN t = 'board' THEN 'sent' ELSE 'pending' END,
              CASE WHEN t = 'board' THEN 1 ELSE 0 END,
              CASE WHEN t = 'board' THEN 'board event ' || (SELECT id FROM be) END,
              CASE WHEN t = 'board' THEN now() END,
              CASE WHEN t = ANY($8::text[]) THEN now() + make_interval(secs => $7::double precision / 1000) END
       FROM unnest($3::text[]) t WHERE EXISTS (SELECT 1 FROM cur)
       ON CONFLICT (alarm_id, step, target) DO NOTHING RETURNING id, target, status
     ), tl AS (
       INSERT INTO alarm_timeline (alarm_id, event, by_whom) SELECT $1, $4, NULL WHERE EXISTS (SELECT 1 FROM cur)
     ), st AS (
       UPDATE alarms SET escalation_step = $5, next_step_at = CASE WHEN $5 < 0 THEN NULL ELSE $6::timestamptz END,
         ladder_planned_at = CASE WHEN $5 < 0 THEN NULL ELSE COALESCE($12::timestamptz, $6::timestamptz) END
       WHERE id IN (SELECT id FROM cur)
     )
     SELECT n.id, n.target, n.status, (SELECT id FROM be) AS board_id, true AS taken FROM n
     UNION ALL SELECT NULL, NULL, NULL, NULL, EXISTS (SELECT 1 FROM cur)`,
    [
      s.alarmId,
      s.step,
      s.targets,
      s.timeline,
      s.nextStep,
      s.nextDueAt,
      s.claimMs,
      s.claimed,
      s.schoolId,
      JSON.stringify(s.boardPayload),
      s.status,
      s.nextPlannedAt ?? null,
    ],
  );
  const boardId = rows.find((r) => r.board_id !== null)?.board_id;
  const notes = rows.filter((r) => r.id !== null);
  return {
    taken: rows.some((r) => r.taken),
    notifications: notes.map((r) => ({ id: String(r.id), target: r.target!, status: r.status! })),
    board:
      boardId == null
        ? null
        : { id: String(boardId), schoolId: s.schoolId, type: 'alarm.escalated', payload: s.boardPayload },
  };
}
