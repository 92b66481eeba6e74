import type { Queryable } from './db.ts';

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
