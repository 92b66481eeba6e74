import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import { parseInput, type WebDeps } from './deps.ts';

const query = z.strictObject({
  school: z.string().optional(),
  action: z.string().max(100).optional(),
  from: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected YYYY-MM-DD' })
    .optional(),
  to: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected YYYY-MM-DD' })
    .optional(),
  before: z.string().regex(/^\d+$/).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : JSON.stringify(v);
  // Formula injection: a cell opening with = + - @ is read by spreadsheets as a formula.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The audit trail for admins: newest first, filtered; and the same as CSV for export. */
export function registerAuditApi(app: FastifyInstance, deps: WebDeps): void {
  const select = async (q: z.output<typeof query>, limit: number | null) => {
    const { rows } = await deps.db.query<Record<string, unknown>>(
      `SELECT a.id, a.at, a.actor, u.display_name AS actor_name, a.action, a.school_id, a.entity_type, a.entity_id, a.before, a.after
       FROM audit_log a LEFT JOIN users u ON 'user:' || u.id = a.actor
       WHERE ($1::text IS NULL OR a.school_id = $1) AND ($2::text IS NULL OR a.action LIKE $2 || '%')
         AND ($3::date IS NULL OR a.at >= $3::date) AND ($4::date IS NULL OR a.at < $4::date + 1)
         AND ($5::bigint IS NULL OR a.id < $5)
       ORDER BY a.id DESC ${limit ? `LIMIT ${limit}` : ''}`,
      [q.school ?? null, q.action ?? null, q.from ?? null, q.to ?? null, q.before ?? null],
    );
    return rows;
  };

  app.get('/api/audit', { config: { access: ['admin'] } }, async (req) => {
    const q = parseInput(query, req.query);
    return { entries: await select(q, q.limit) };
  });

  app.get('/api/audit.csv', { config: { access: ['admin'] } }, async (req, reply) => {
    const q = parseInput(query, req.query);
    const rows = await select(q, null);
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
