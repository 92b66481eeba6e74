import type { Queryable } from './db.ts';

/** Home visits each account has been out on (lead or partner), and the latest training record's who and when. */
export async function trainingHistory(
  db: Queryable,
  userIds: readonly string[],
): Promise<Map<string, { visitsMade: number; lastRecorded: { at: string; actor: string } | null }>> {
  if (userIds.length === 0) return new Map();
  const { rows } = await db.query<{
    id: string;
    made: number;
    last_at: Date | string | null;
    last_actor: string | null;
  }>(
    `SELECT u.id,
            -- Visits made: went and came back (as the departure check counts experience).
            (SELECT count(*)::int FROM visits v WHERE v.returned_at IS NOT NULL
               AND (v.lead_user_id = u.id OR v.partner_user_id = u.id)) AS made,
            last.at AS last_at, last.actor AS last_actor
     FROM users u
       LEFT JOIN LATERAL (
         SELECT a.at, a.actor FROM audit_log a
         WHERE a.entity_type = 'user' AND a.entity_id = u.id::text AND a.action = 'user.training-recorded'
         ORDER BY a.id DESC LIMIT 1) last ON true
     WHERE u.id = ANY($1::bigint[])`,
    [[...userIds]],
  );
  return new Map(
    rows.map((r) => [
      String(r.id),
      {
        visitsMade: r.made,
        lastRecorded:
          r.last_at && r.last_actor ? { at: new Date(r.last_at).toISOString(), actor: r.last_actor } : null,
      },
    ]),
  );
}
