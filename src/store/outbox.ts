import type { RecordKind } from '../domain/records.ts';
import { appendAudit } from './audit.ts';
import type { Db, Queryable } from './db.ts';
import { textCell } from './json-rows.ts';

/**
 * The statuses a record takes: waiting or being tried (`pending`), kept unsent before go-live
 * (`preview`), `delivered`, `failed`, and `dismissed` — a failed record that can never be sent,
 * recorded by hand by a person who said so (`dismissOutbox`; migration 063). (`delivering` is allowed
 * by the table, migration 003, but never written: a delivery in progress is a claim, `delivering_until`.)
 */
export const OUTBOX_STATUSES = ['pending', 'preview', 'delivered', 'failed', 'dismissed'] as const;

export interface OutboxRow {
  id: string;
  schoolId: string;
  kind: RecordKind;
  pupils: { misId: string; upn: string | null }[];
  title: string;
  body: string;
  occurredAt: Date;
  sink: string;
  idempotencyKey: string;
  /**
   * The key as sent to the sink: this install's id before it (migration 052), so a second install's
   * records — made of the same serial ids — are never taken for the first's.
   */
  outwardKey: string;
  status: 'pending' | 'preview' | 'delivering' | 'delivered' | 'failed' | 'dismissed';
  attempts: number;
  lastError: string | null;
  remoteId: string | null;
  unmatched: boolean;
  generation: number;
  createdAt: Date;
  deliveredAt: Date | null;
  /** A dismissed record: who dismissed it, when, and why (where it was recorded by hand). */
  dismissed: { at: Date; by: string; reason: string } | null;
}

/**
 * The key as sent to the sink (`OutboxRow.outwardKey`), of an outbox row aliased `o`: the one
 * definition, for every place that shows or sends it.
 */
export const OUTWARD_KEY = `CASE WHEN o.install_scoped THEN (SELECT i.id FROM install i) || ':' || o.idempotency_key
       ELSE o.idempotency_key END`;

const COLUMNS = `o.id, o.school_id, o.kind, o.pupil_ids, o.title, o.body, o.occurred_at, o.sink, o.idempotency_key, o.status,
  o.attempts, o.last_error, o.remote_id, o.unmatched, o.generation, o.created_at, o.delivered_at,
  o.dismissed_at, o.dismissed_by, o.dismiss_reason, ${OUTWARD_KEY} AS outward_key,
  (SELECT coalesce(jsonb_object_agg(p.mis_id, p.upn), '{}') FROM pupils p
    WHERE p.school_id = o.school_id AND p.mis_id IN (SELECT jsonb_array_elements_text(o.pupil_ids))) AS upns`;

function toRow(r: Record<string, unknown>): OutboxRow {
  const upns = (r.upns ?? {}) as Record<string, string | null>;
  return {
    id: String(r.id),
    schoolId: r.school_id as string,
    kind: r.kind as OutboxRow['kind'],
    pupils: (r.pupil_ids as string[]).map((misId) => ({ misId, upn: upns[misId] ?? null })),
    title: r.title as string,
    body: r.body as string,
    occurredAt: new Date(r.occurred_at as string),
    sink: r.sink as string,
    idempotencyKey: r.idempotency_key as string,
    outwardKey: r.outward_key as string,
    status: r.status as OutboxRow['status'],
    attempts: r.attempts as number,
    lastError: (r.last_error as string | null) ?? null,
    remoteId: (r.remote_id as string | null) ?? null,
    unmatched: r.unmatched as boolean,
    generation: r.generation as number,
    createdAt: new Date(r.created_at as string),
    deliveredAt: r.delivered_at ? new Date(r.delivered_at as string) : null,
    dismissed: r.dismissed_at
      ? {
          at: new Date(r.dismissed_at as string),
          by: r.dismissed_by as string,
          reason: r.dismiss_reason as string,
        }
      : null,
  };
}

export async function getOutbox(db: Queryable, id: string): Promise<OutboxRow | undefined> {
  const { rows } = await db.query(`SELECT ${COLUMNS} FROM outbox o WHERE o.id = $1`, [id]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

function outboxFilter(q: { schoolId?: string; status?: string }): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  if (q.schoolId) {
    params.push(q.schoolId);
    where.push(`o.school_id = $${params.length}`);
  }
  if (q.status) {
    params.push(q.status);
    where.push(`o.status = $${params.length}`);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** How many records match (a list shows a page of them: `listOutbox`). */
export async function countOutbox(db: Queryable, q: { schoolId?: string; status?: string } = {}) {
  const { where, params } = outboxFilter(q);
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM outbox o ${where}`, params);
  return Number(rows[0]?.n ?? 0);
}

/** How many of a school's records failed and wait for a person, per sink (the board's line). */
export async function recordsFailedBySink(db: Queryable, schoolId: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ sink: string; n: string }>(
    `SELECT sink, count(*)::text AS n FROM outbox WHERE school_id = $1 AND status = 'failed'
      GROUP BY sink ORDER BY sink`,
    [schoolId],
  );
  return Object.fromEntries(rows.map((r) => [r.sink, Number(r.n)]));
}

export async function listOutbox(
  db: Queryable,
  q: { schoolId?: string; status?: string; limit?: number } = {},
) {
  const { where, params } = outboxFilter(q);
  params.push(q.limit ?? 100);
  const { rows } = await db.query(
    `SELECT ${COLUMNS} FROM outbox o ${where} ORDER BY o.id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toRow);
}

/** Live records not yet handed to the queue in their current generation. */
export async function outboxToRelay(
  db: Queryable,
  limit = 500,
): Promise<{ id: string; generation: number }[]> {
  const { rows } = await db.query<{ id: string; generation: number }>(
    `SELECT id, generation FROM outbox WHERE status = 'pending'
       AND (enqueued_generation IS NULL OR enqueued_generation < generation) ORDER BY id LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ id: String(r.id), generation: r.generation }));
}

export async function markEnqueued(db: Queryable, id: string, generation: number): Promise<void> {
  await db.query('UPDATE outbox SET enqueued_generation = $2 WHERE id = $1', [id, generation]);
}

/** A live record whose current generation was handed to the queue: its delivery job should be alive. */
export interface InFlightRecord {
  id: string;
  generation: number;
  schoolId: string;
  kind: RecordKind;
  sink: string;
}

/** Live records handed to the queue in their current generation, by id after `afterId`. */
export async function outboxInFlight(db: Queryable, afterId: string, limit = 500): Promise<InFlightRecord[]> {
  const { rows } = await db.query<{
    id: string;
    generation: number;
    school_id: string;
    kind: RecordKind;
    sink: string;
  }>(
    `SELECT id, generation, school_id, kind, sink FROM outbox
      WHERE status = 'pending' AND enqueued_generation = generation AND id > $1 ORDER BY id LIMIT $2`,
    [afterId, limit],
  );
  return rows.map((r) => ({
    id: String(r.id),
    generation: r.generation,
    schoolId: r.school_id,
    kind: r.kind,
    sink: r.sink,
  }));
}

/** The record's delivery job was lost (`reason`) and another was queued for it: said on the record. */
export async function markRequeued(db: Db, row: InFlightRecord, reason: string): Promise<void> {
  await db.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      `UPDATE outbox SET last_error = $3, updated_at = now() WHERE id = $1 AND status = 'pending' AND generation = $2`,
      [row.id, row.generation, reason],
    );
    if (rowCount !== 1) return;
    await appendAudit(tx, {
      actor: 'system:relay-outbox',
      action: 'record.requeued',
      schoolId: row.schoolId,
      entityType: 'outbox',
      entityId: row.id,
      after: { sink: row.sink, generation: row.generation, reason },
    });
  });
}

/** Another delivery of the record holds it (for `waitMs` more), or the record is no longer live. */
export type ClaimRefused =
  | { status: 'claimed-elsewhere'; waitMs: number }
  | { status: 'not-live'; recordStatus: string };

/**
 * Claims a live record (pending, in this generation) for one delivery, for `leaseMs`: refused while
 * another delivery's claim runs (no other sends the record meanwhile), or once the record is no
 * longer live. A guarded UPDATE, not a session lock: it needs no connection held over the sink's
 * call, so it works alike on PostgreSQL's pool and PGlite's one connection. The verdict clears it
 * (`markDelivered`, `markFailed`, `markAttempt`); a delivery that ends with none (a crash, a request
 * stopped mid-way that may still land) leaves it to run out, and so does a failure whose last request
 * may still land (`markFailed` with `keepClaim`, `markLost`): the claim outlives a Retry (a new
 * generation claims only once it ran out) and holds off a dismissal (`dismissOutbox`).
 */
export async function claimDelivery(
  db: Queryable,
  id: string,
  generation: number,
  leaseMs: number,
): Promise<true | ClaimRefused> {
  const { rowCount } = await db.query(
    `UPDATE outbox SET delivering_until = now() + $3 * interval '1 millisecond'
      WHERE id = $1 AND status = 'pending' AND generation = $2
        AND (delivering_until IS NULL OR delivering_until <= now())`,
    [id, generation, leaseMs],
  );
  if (rowCount === 1) return true;
  const { rows } = await db.query<{ status: string; live: boolean; wait_ms: number | null }>(
    `SELECT status, status = 'pending' AND generation = $2 AS live,
            ceil(extract(epoch FROM delivering_until - now()) * 1000)::float8 AS wait_ms
       FROM outbox WHERE id = $1`,
    [id, generation],
  );
  const r = rows[0];
  if (!r) return { status: 'not-live', recordStatus: 'missing' };
  if (!r.live) return { status: 'not-live', recordStatus: r.status === 'pending' ? 'superseded' : r.status };
  return { status: 'claimed-elsewhere', waitMs: Math.max(0, Number(r.wait_ms ?? 0)) };
}

export async function markDelivered(
  db: Db,
  row: OutboxRow,
  receipt: { remoteId: string; matched: boolean; duplicate: boolean },
) {
  return db.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      `UPDATE outbox SET status = 'delivered', remote_id = $2, unmatched = $3, attempts = attempts + 1, delivered_at = now(),
         last_error = NULL, delivering_until = NULL, updated_at = now() WHERE id = $1 AND status = 'pending'`,
      [row.id, receipt.remoteId, !receipt.matched],
    );
    if (rowCount === 1) {
      await appendAudit(tx, {
        actor: 'system:deliver-record',
        action: 'record.delivered',
        schoolId: row.schoolId,
        entityType: 'outbox',
        entityId: row.id,
        after: {
          sink: row.sink,
          remoteId: receipt.remoteId,
          duplicate: receipt.duplicate,
          unmatched: !receipt.matched,
        },
      });
    }
  });
}

/**
 * A try without a verdict on the record: counted, with its error. The delivery's claim ends with it,
 * unless `keepClaim` (a request stopped mid-way may still land at the sink: the claim runs out first).
 */
export async function markAttempt(
  db: Queryable,
  id: string,
  error: string,
  opts: { keepClaim?: boolean } = {},
): Promise<void> {
  await db.query(
    `UPDATE outbox SET attempts = attempts + 1, last_error = $2, updated_at = now(),
       delivering_until = CASE WHEN $3::boolean THEN delivering_until END WHERE id = $1`,
    [id, error, opts.keepClaim ?? false],
  );
}

/**
 * The record will not be retried: says why on the record and raises an alert for the data manager.
 * The delivery's claim ends with it, unless `keepClaim` (the last try's write may still land at a sink
 * without an idempotency key, as `markAttempt`'s): a Retry meanwhile then waits for the claim to run
 * out, and finds the note instead of writing a second; a dismissal waits for it too.
 */
export async function markFailed(
  db: Db,
  row: OutboxRow,
  error: string,
  opts: { keepClaim?: boolean } = {},
): Promise<void> {
  await failRecord(db, row, error, {
    actor: 'system:deliver-record',
    tries: 1,
    claim: opts.keepClaim ? 'keep' : 'end',
  });
}

/**
 * The record's delivery jobs ended without a verdict (relay-outbox): failed as `markFailed` does, with
 * its alert, if it is still live in that generation; no try is counted (none reached a verdict). A job
 * failed as stalled may still be running, and any of them may have sent a request that still lands:
 * the record stays claimed for `holdMs` more at least (a claim it holds already is kept if longer), so
 * a Retry of it meanwhile waits before it posts to a sink without an idempotency key, and a dismissal
 * waits until nothing of it can still arrive.
 */
export async function markLost(db: Db, row: InFlightRecord, error: string, holdMs: number): Promise<void> {
  await failRecord(db, row, error, {
    actor: 'system:relay-outbox',
    tries: 0,
    generation: row.generation,
    claim: holdMs,
  });
}

async function failRecord(
  db: Db,
  row: Pick<OutboxRow, 'id' | 'schoolId' | 'kind' | 'sink'>,
  error: string,
  how: { actor: string; tries: number; generation?: number; claim: 'end' | 'keep' | number },
): Promise<void> {
  const { actor, tries, generation, claim } = how;
  await db.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      `UPDATE outbox SET status = 'failed', attempts = attempts + $3, last_error = $2,
         delivering_until = CASE $5::text
           WHEN 'end' THEN NULL
           WHEN 'keep' THEN delivering_until
           ELSE greatest(delivering_until, now() + $6 * interval '1 millisecond') END,
         updated_at = now()
        WHERE id = $1 AND status = 'pending' AND ($4::int IS NULL OR generation = $4)`,
      [
        row.id,
        error,
        tries,
        generation ?? null,
        typeof claim === 'number' ? 'hold' : claim,
        typeof claim === 'number' ? claim : 0,
      ],
    );
    if (rowCount !== 1) return;
    await tx.query(
      `INSERT INTO alerts (school_id, kind, message, entity_type, entity_id) VALUES ($1, 'delivery_failed', $2, 'outbox', $3)`,
      [row.schoolId, `Record #${row.id} (${row.kind}) to ${row.sink} failed: ${error}`, row.id],
    );
    await appendAudit(tx, {
      actor,
      action: 'record.failed',
      schoolId: row.schoolId,
      entityType: 'outbox',
      entityId: row.id,
      after: { sink: row.sink, error },
    });
  });
}

/**
 * How long (ms) a record's last delivery may still land, by its claim (`claimDelivery`, kept by a
 * failure that may have landed): 0 when none runs. A Retry meanwhile is sent once it ends; a dismissal
 * waits for it.
 */
export async function claimWaitMs(db: Queryable, id: string): Promise<number> {
  const { rows } = await db.query<{ wait_ms: number | null }>(
    `SELECT ceil(extract(epoch FROM delivering_until - now()) * 1000)::float8 AS wait_ms FROM outbox WHERE id = $1`,
    [id],
  );
  return Math.max(0, Number(rows[0]?.wait_ms ?? 0));
}

/**
 * Puts a failed record back in line under a new generation (so a new delivery job is used), its
 * tries counted afresh (a limit on them is a limit on this delivery, not the record's whole life).
 * Its "delivery failed" alerts are acknowledged with it (by `actor`): should it fail again, a new
 * one is raised. A claim its last delivery left (a request that may still land) is kept: the new
 * generation's delivery waits for it to run out, then finds what landed.
 */
export async function retryOutbox(db: Db, id: string, actor: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ school_id: string; sink: string; generation: number }>(
      `UPDATE outbox SET status = 'pending', generation = generation + 1, attempts = 0, last_error = NULL,
         updated_at = now()
       WHERE id = $1 AND status = 'failed' RETURNING school_id, sink, generation`,
      [id],
    );
    const r = rows[0];
    if (!r) return false;
    await acknowledgeRecordAlerts(tx, id, actor);
    // With its school, so that the school's audit (an admin of that school's) shows who sent it again.
    await appendAudit(tx, {
      actor,
      action: 'record.retry',
      schoolId: r.school_id,
      entityType: 'outbox',
      entityId: id,
      after: { status: 'pending', sink: r.sink, generation: r.generation },
    });
    return true;
  });
}

/** A record's open "delivery failed" alerts, acknowledged by `actor` (it was retried or dismissed). */
async function acknowledgeRecordAlerts(tx: Queryable, id: string, actor: string): Promise<void> {
  await tx.query(
    `UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $2
      WHERE entity_type = 'outbox' AND entity_id = $1 AND acknowledged_at IS NULL`,
    [id, actor],
  );
}

/**
 * Why a record was not dismissed: there is none with that id, it is not failed (its status), or its
 * last delivery may still land for `waitMs` more (its claim: `claimWaitMs`).
 */
export type DismissRefused =
  | { status: 'missing' }
  | { status: 'not-failed'; recordStatus: string }
  | { status: 'may-still-land'; sink: string; waitMs: number };

/**
 * Closes a failed record that can never be sent (an Arbor-only school's lone-worker incident away
 * from a visit), once a person has recorded it by hand: `dismissed`, a final unsent state, with who,
 * when and `reason` (where it was recorded). Only a failed record: one waiting or delivered is not
 * dismissed, nor one whose last delivery may still land (its claim runs: a request that may still
 * reach the sink, a job failed as stalled that may still be sending it) — that one once the claim ran
 * out, when the sink shows whether it arrived. Its "delivery failed" alerts are acknowledged with it,
 * and it is audited (`record.dismissed`, with the reason). The retention's `records` kind then removes
 * it `recordDays` on, and `record-bodies` its text, as a delivered record's.
 */
export async function dismissOutbox(
  db: Db,
  id: string,
  actor: string,
  reason: string,
): Promise<true | DismissRefused> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ school_id: string; sink: string; last_error: string | null }>(
      `UPDATE outbox SET status = 'dismissed', dismissed_at = now(), dismissed_by = $2, dismiss_reason = $3,
         delivering_until = NULL, updated_at = now()
       WHERE id = $1 AND status = 'failed' AND (delivering_until IS NULL OR delivering_until <= now())
       RETURNING school_id, sink, last_error`,
      [id, actor, reason],
    );
    const r = rows[0];
    if (!r) {
      const found = await tx.query<{ status: string; sink: string }>(
        'SELECT status, sink FROM outbox WHERE id = $1',
        [id],
      );
      const f = found.rows[0];
      if (!f) return { status: 'missing' as const };
      if (f.status !== 'failed') return { status: 'not-failed' as const, recordStatus: f.status };
      return {
        status: 'may-still-land' as const,
        sink: f.sink,
        waitMs: Math.max(1, await claimWaitMs(tx, id)),
      };
    }
    await acknowledgeRecordAlerts(tx, id, actor);
    await appendAudit(tx, {
      actor,
      action: 'record.dismissed',
      schoolId: r.school_id,
      entityType: 'outbox',
      entityId: id,
      before: { status: 'failed', error: r.last_error },
      after: { status: 'dismissed', sink: r.sink, reason },
    });
    return true as const;
  });
}

export async function failedIds(db: Queryable, schoolId?: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM outbox WHERE status = 'failed' ${schoolId ? 'AND school_id = $1' : ''} ORDER BY id`,
    schoolId ? [schoolId] : [],
  );
  return rows.map((r) => String(r.id));
}

export async function openAlerts(db: Queryable, schoolId?: string) {
  const { rows } = await db.query<{
    id: string;
    school_id: string;
    kind: string;
    message: string;
    created_at: Date;
  }>(
    `SELECT id, school_id, kind, message, created_at FROM alerts WHERE acknowledged_at IS NULL ${schoolId ? 'AND school_id = $1' : ''} ORDER BY id`,
    schoolId ? [schoolId] : [],
  );
  return rows;
}

export interface OutboxInsert {
  schoolId: string;
  kind: RecordKind;
  pupilIds: string[];
  title: string;
  body: string;
  occurredAt: Date;
  sink: string;
  idempotencyKey: string;
  sourceType: string;
  sourceId: string;
  /**
   * Written while the school's records are in preview: kept as preview and never sent, whichever
   * sink the row is for — also an `alsoRecordTo` sink's row delivered only after go-live.
   */
  preview?: boolean;
}

/** Adds an outbound record; a second insert with the same idempotency key adds nothing. */
export async function insertOutbox(tx: Queryable, r: OutboxInsert): Promise<string | null> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO outbox (school_id, kind, pupil_ids, title, body, occurred_at, sink, idempotency_key, status, source_type, source_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
    [
      r.schoolId,
      r.kind,
      JSON.stringify(r.pupilIds),
      r.title,
      r.body,
      r.occurredAt,
      r.sink,
      r.idempotencyKey,
      r.sink === 'preview' || r.preview ? 'preview' : 'pending',
      r.sourceType,
      r.sourceId,
    ],
  );
  return rows[0] ? String(rows[0].id) : null;
}

/** The record kept under this idempotency key, if any (a request sent again finds what its first made). */
export async function outboxIdByKey(db: Queryable, idempotencyKey: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM outbox WHERE idempotency_key = $1', [
    idempotencyKey,
  ]);
  return rows[0] ? String(rows[0].id) : null;
}

/** Many outbound records in one statement; each idempotency key already present adds nothing. */
export async function insertOutboxMany(tx: Queryable, list: readonly OutboxInsert[]): Promise<void> {
  if (list.length === 0) return;
  // The rows as one JSON document (each value escaped once, natively), not eleven array literals.
  await tx.query(
    `INSERT INTO outbox (school_id, kind, pupil_ids, title, body, occurred_at, sink, idempotency_key, status, source_type, source_id)
     SELECT school_id, kind, pupil_ids, title, body, occurred_at, sink, idempotency_key, status, source_type, source_id
     FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (school_id text, kind text, pupil_ids jsonb, title text, body text,
                     occurred_at timestamptz, sink text, idempotency_key text, status text, source_type text, source_id text))
          WITH ORDINALITY AS u(school_id, kind, pupil_ids, title, body, occurred_at, sink, idempotency_key, status,
                               source_type, source_id, n)
     ORDER BY n
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [
      JSON.stringify(
        list.map((r) => ({
          school_id: textCell(r.schoolId),
          kind: r.kind,
          pupil_ids: r.pupilIds,
          title: textCell(r.title),
          body: textCell(r.body),
          occurred_at: r.occurredAt,
          sink: textCell(r.sink),
          idempotency_key: textCell(r.idempotencyKey),
          status: r.sink === 'preview' || r.preview ? 'preview' : 'pending',
          source_type: textCell(r.sourceType),
          source_id: textCell(r.sourceId),
        })),
      ),
    ],
  );
}
