import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as z from 'zod';
import { listAccounts } from '../../auth/accounts.ts';
import { isTrustWide } from '../../auth/scope.ts';
import { isIsoDate } from '../../domain/attendance/dates.ts';
import { appendAudit, auditPage } from '../../store/audit.ts';
import { parseInput, schoolParam, userOf, type WebDeps } from './deps.ts';

const date = z.string().refine(isIsoDate, { error: 'expected a date as YYYY-MM-DD' });
const query = z.strictObject({
  school: z.string().max(100).optional(),
  action: z.string().max(100).optional(),
  from: date.optional(),
  to: date.optional(),
  before: z
    .string()
    .regex(/^\d{1,18}$/, { error: 'expected an entry id' })
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** `1`: the heartbeats too (one a minute: left out, they would fill the page). */
  heartbeats: z.enum(['0', '1'], { error: 'expected 1 or 0' }).optional(),
});

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : JSON.stringify(v);
  // Formula injection: a cell opening with = + - @ is read by spreadsheets as a formula.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The audit trail for admins: newest first, filtered; and the same as CSV for export (each export
 * audited as `audit.exported`: who, the school, dates and action filter, how many rows). A trust-wide
 * admin reads all of it; an admin of some schools reads those schools' entries and the trust-level
 * ones (sign-ins, account changes) of the accounts they manage, and is refused another school.
 */
export function registerAuditApi(app: FastifyInstance, deps: WebDeps): void {
  const select = async (req: FastifyRequest, limit: 'page' | 'all') => {
    const q = parseInput(query, req.query);
    if (q.school !== undefined) schoolParam(deps, req, q.school);
    const admin = userOf(req);
    const scoped = !isTrustWide(admin);
    const managed = scoped ? (await listAccounts(deps.db, admin)).map((u) => u.id) : [];
    const entries = await auditPage(deps.db, {
      school: q.school,
      actionPrefix: q.action,
      from: q.from,
      to: q.to,
      before: q.before,
      limit: limit === 'page' ? q.limit : undefined,
      // Asked for by the box, or by filtering on the action itself.
      heartbeats:
        q.heartbeats === '1' ||
        (q.action !== undefined && q.action !== '' && 'heartbeat'.startsWith(q.action)),
      scope: scoped ? { schools: admin.schools, managedUserIds: managed } : undefined,
    });
    return { q, admin, entries };
  };

  app.get('/api/audit', { config: { access: ['admin'] } }, async (req) => ({
    entries: (await select(req, 'page')).entries,
  }));

  app.get('/api/audit.csv', { config: { access: ['admin'] } }, async (req, reply) => {
    const { q, admin, entries: rows } = await select(req, 'all');
    // The export takes every entry's before/after values (names, addresses, numbers) off Doorstep:
    // audited as the register's export is — who, the filter, how many rows; no value of any entry.
    await appendAudit(deps.db, {
      actor: `user:${admin.id}`,
      action: 'audit.exported',
      schoolId: q.school,
      entityType: 'audit-trail',
      entityId: `${q.from ?? ''}..${q.to ?? ''}`,
      after: { action: q.action ?? null, heartbeats: q.heartbeats === '1', rows: rows.length },
    });
    const head = [
      'id',
      'at',
      'actor',
      'actor_name',
      'action',
      'school_id',
      'entity_type',
      'entity_id',
      'before',
      'after',
    ];
    const lines = [head.join(','), ...rows.map((r) => head.map((h) => csvCell(r[h])).join(','))];
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="doorstep-audit.csv"')
      .send(`${lines.join('\r\n')}\r\n`);
  });
}
