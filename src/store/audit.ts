import type { Queryable } from './db.ts';
import { textCell } from './json-rows.ts';

export interface AuditEntryInput {
  /** User id, or `system:<component>`. */
  actor: string;
  /** Dotted verb, e.g. `alarm.acknowledged`. */
  action: string;
  schoolId?: string | null;
  entityType?: string | null;
  entityId?: string | null;
  before?: unknown;
  after?: unknown;
}

export interface AuditEntry {
  id: string;
  at: Date;
  actor: string;
  action: string;
  schoolId: string | null;
  entityType: string | null;
  entityId: string | null;
  before: unknown;
  after: unknown;
}

interface AuditRow {
  id: string;
  at: Date;
  actor: string;
  action: string;
  school_id: string | null;
  entity_type: string | null;
  entity_id: string | null;
  before: unknown;
  after: unknown;
}

/**
 * Appends one entry. Pass the transaction that makes the change, so the change and its audit
 * entry commit or roll back together.
 */
export async function appendAudit(db: Queryable, entry: AuditEntryInput): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO audit_log (actor, action, school_id, entity_type, entity_id, before, after)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [
      entry.actor,
      entry.action,
      entry.schoolId ?? null,
      entry.entityType ?? null,
      entry.entityId ?? null,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
    ],
  );
  return String(rows[0]!.id);
}

/**
 * Appends many entries in one statement, in order (same rules as `appendAudit`). Written to the
 * view's two tables directly, as its insert trigger (migration 018) writes them — the entry, and its
 * details when it has a before or an after — but for the whole list at once: the trigger runs once
 * per row (two inserts each), which cost most of a night's audit of thousands of raised triggers.
 * The ids come from the view's own sequence in the list's order.
 */
export async function appendAuditMany(db: Queryable, entries: readonly AuditEntryInput[]): Promise<void> {
  if (entries.length === 0) return;
  // The entries as one JSON document (each value escaped once, natively); a before or an after is
  // wrapped in a one-element array so that a given `null` stays JSON null and an absent one is none.
  await db.query(
    `WITH u AS MATERIALIZED (
       SELECT nextval('audit_log_id_seq') AS id, actor, action, school_id, entity_type, entity_id, b->0 AS before,
              a->0 AS after
       FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (actor text, action text, school_id text, entity_type text,
                       entity_id text, b jsonb, a jsonb))
            WITH ORDINALITY AS u(actor, action, school_id, entity_type, entity_id, b, a, n)
       ORDER BY n
     ),
     entries AS (
       INSERT INTO audit_entries (id, at, actor, action, school_id, entity_type, entity_id)
       SELECT id, now(), actor, action, school_id, entity_type, entity_id FROM u ORDER BY id
     )
     INSERT INTO audit_details (audit_id, school_id, at, before, after)
     SELECT id, school_id, now(), before, after FROM u WHERE before IS NOT NULL OR after IS NOT NULL ORDER BY id`,
    [
      JSON.stringify(
        entries.map((e) => ({
          actor: textCell(e.actor),
          action: textCell(e.action),
          school_id: textCell(e.schoolId ?? null),
          entity_type: textCell(e.entityType ?? null),
          entity_id: textCell(e.entityId ?? null),
          b: noJson(e.before) ? null : [e.before],
          a: noJson(e.after) ? null : [e.after],
        })),
      ),
    ],
  );
}

/** A value `JSON.stringify` writes nothing for: `appendAudit` then stores SQL NULL (no details). */
function noJson(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

export interface AuditQuery {
  schoolId?: string;
  entityType?: string;
  entityId?: string;
  action?: string;
  /** Only entries with an id greater than this (paging forward). */
  afterId?: string;
  limit?: number;
}

export async function listAudit(db: Queryable, q: AuditQuery = {}): Promise<AuditEntry[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    params.push(value);
    where.push(clause.replace('?', `$${params.length}`));
  };
  if (q.schoolId !== undefined) add('school_id = ?', q.schoolId);
  if (q.entityType !== undefined) add('entity_type = ?', q.entityType);
  if (q.entityId !== undefined) add('entity_id = ?', q.entityId);
  if (q.action !== undefined) add('action = ?', q.action);
  if (q.afterId !== undefined) add('id > ?', q.afterId);
  params.push(Math.min(q.limit ?? 100, 1000));
  const { rows } = await db.query<AuditRow>(
    `SELECT id, at, actor, action, school_id, entity_type, entity_id, before, after FROM audit_log
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => ({
    id: String(r.id),
    at: new Date(r.at),
    actor: r.actor,
    action: r.action,
    schoolId: r.school_id,
    entityType: r.entity_type,
    entityId: r.entity_id,
    before: r.before,
    after: r.after,
  }));
}

/** The audit page's filter; `scope` limits an admin of some schools to theirs and their accounts'. */
export interface AuditPageQuery {
  school?: string | undefined;
  actionPrefix?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  before?: string | undefined;
  limit?: number | undefined;
  scope?: { schools: readonly string[]; managedUserIds: readonly string[] } | undefined;
  /** The scheduler's heartbeats (one a minute) too; left out unless asked for. */
  heartbeats?: boolean | undefined;
}

/** Audit entries for the audit page, newest first, with the acting account's display name. */
export async function auditPage(db: Queryable, q: AuditPageQuery): Promise<Record<string, unknown>[]> {
  const managed = q.scope?.managedUserIds ?? [];
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT a.id, a.at, a.actor, u.display_name AS actor_name, a.action, a.school_id, a.entity_type, a.entity_id, a.before, a.after
     FROM audit_log a LEFT JOIN users u ON 'user:' || u.id = a.actor
     WHERE ($1::text IS NULL OR a.school_id = $1) AND ($2::text IS NULL OR starts_with(a.action, $2))
       AND ($3::date IS NULL OR a.at >= $3::date) AND ($4::date IS NULL OR a.at < $4::date + 1)
       AND ($5::bigint IS NULL OR a.id < $5)
       AND ($6::text[] IS NULL OR a.school_id = ANY($6) OR (a.school_id IS NULL AND (
             a.actor = ANY($7) OR (a.entity_type = 'user' AND a.entity_id = ANY($8)))))
       AND ($9 OR a.action <> 'heartbeat')
     ORDER BY a.id DESC ${q.limit === undefined ? '' : `LIMIT ${Math.trunc(q.limit)}`}`,
    [
      q.school ?? null,
      q.actionPrefix ?? null,
      q.from ?? null,
      q.to ?? null,
      q.before ?? null,
      q.scope ? q.scope.schools : null,
      managed.map((id) => `user:${id}`),
      managed,
      q.heartbeats === true,
    ],
  );
  return rows;
}

/** The id of the audit entry an action on an entity wrote, if it did (e.g. a job's run). */
export async function auditEntryFor(
  db: Queryable,
  action: string,
  entityType: string,
  entityId: string,
): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM audit_log WHERE action = $1 AND entity_type = $2 AND entity_id = $3',
    [action, entityType, entityId],
  );
  return rows[0] === undefined ? undefined : String(rows[0].id);
}
