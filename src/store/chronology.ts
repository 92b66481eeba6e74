import type { Queryable } from './db.ts';

/** One dated entry of a pupil's chronology, from one of the tables that hold their story. */
export interface ChronologyEntry {
  at: Date;
  /**
   * The day, for an entry that has no time of day (a trigger opened or closed on a date): `at` is
   * then the start of that day in London, and the entry is shown by its date alone.
   */
  date: string | null;
  /** trigger | visit | alarm | notice | record */
  source: 'trigger' | 'visit' | 'alarm' | 'notice' | 'record';
  /** The row it comes from (episode, visit, alarm, notice or outbox id). */
  ref: string;
  visitId: string | null;
  what: string;
  detail: Record<string, unknown> | null;
}

/**
 * Everything dated that Doorstep holds about one pupil, oldest first: trigger episodes opened and
 * closed (with their attendance evidence), each visit's steps (requested, authorised, left, arrived,
 * back, outcome, cancelled, follow-up; an arrival or a check-in the office recorded for the worker
 * says who recorded it, as does a parent's notice that they were running late), the timelines of the visits' alarms, the notices sent about
 * them and every record written to a sink (with its status and the sink's id). Read only.
 */
export async function pupilChronology(
  db: Queryable,
  schoolId: string,
  misId: string,
): Promise<ChronologyEntry[]> {
  const { rows } = await db.query<{
    at: Date;
    date: string | null;
    source: ChronologyEntry['source'];
    ref: string;
    visit_id: string | null;
    what: string;
    detail: Record<string, unknown> | null;
  }>(
    `WITH v AS (SELECT * FROM visits WHERE school_id = $1 AND pupil_mis_id = $2)
     SELECT opened_on::timestamp AT TIME ZONE 'Europe/London' AS at, to_char(opened_on, 'YYYY-MM-DD') AS date,
            'trigger' AS source, id::text AS ref, NULL::text AS visit_id,
            'trigger raised: ' || title AS what,
            jsonb_build_object('rule', rule_key, 'action', action, 'role', role, 'explanation', explanation, 'evidence', evidence) AS detail
       FROM trigger_episodes WHERE school_id = $1 AND pupil_mis_id = $2
     UNION ALL
     SELECT closed_on::timestamp AT TIME ZONE 'Europe/London', to_char(closed_on, 'YYYY-MM-DD'), 'trigger', id::text,
            NULL, 'trigger closed: ' || title, NULL
       FROM trigger_episodes WHERE school_id = $1 AND pupil_mis_id = $2 AND closed_on IS NOT NULL
     UNION ALL
     SELECT a.recorded_at, to_char(a.done_on, 'YYYY-MM-DD'), 'trigger', a.episode_id::text, NULL,
            'trigger action done: ' || replace(a.action, '-', ' ') || ' (' || t.title || ')',
            jsonb_build_object('doneOn', a.done_on, 'note', a.note)
       FROM trigger_actions a JOIN trigger_episodes t ON t.id = a.episode_id
      WHERE a.school_id = $1 AND a.pupil_mis_id = $2
     UNION ALL
     SELECT s.at, NULL, 'visit', v.id::text, v.id::text, s.what, s.detail
       FROM v, LATERAL (VALUES
         (v.requested_at, 'visit requested: ' || v.reason, jsonb_build_object('plannedFor', v.planned_for, 'risk', v.risk_level)),
         (v.authorised_at, 'visit authorised', NULL::jsonb),
         (v.departed_at, 'left for the visit', NULL),
         (v.arrived_at, 'arrived at the door' || coalesce(' (recorded by ' || (
            -- Recorded by someone not on the visit (the office, who spoke to them): said so.
            SELECT u.display_name FROM audit_entries a JOIN users u ON a.actor = 'user:' || u.id
             WHERE a.entity_type = 'visit' AND a.entity_id = v.id::text AND a.action = 'visit.arrived'
               AND a.actor IS DISTINCT FROM 'user:' || v.lead_user_id
               AND a.actor IS DISTINCT FROM 'user:' || v.partner_user_id
             ORDER BY a.id LIMIT 1) || ', who spoke to the worker)', ''), NULL),
         -- Thames View 3.5: the parent/carer's notice that they were running late, and who recorded it.
         (v.parent_late_notice_at, 'the parent/carer said they were running late' || coalesce(' (recorded by ' || (
            SELECT u.display_name FROM users u WHERE 'user:' || u.id = v.parent_late_notice_by) || ')', ''), NULL),
         (v.returned_at, 'back safe', NULL),
         ((v.outcome->>'recordedAt')::timestamptz, 'outcome: ' || CASE WHEN (v.outcome->>'childSeen')::boolean THEN 'child seen'
             WHEN (v.outcome->>'noOneHome')::boolean THEN 'no one home, child not seen' ELSE 'child NOT seen' END,
           v.outcome - 'recordedBy' - 'recordedAt'),
         (v.cancelled_at, 'visit cancelled: ' || coalesce(v.cancel_reason, ''), NULL),
         (v.follow_up_done_at, 'follow-up of the child not seen recorded', NULL)
       ) AS s(at, what, detail)
      WHERE s.at IS NOT NULL
     UNION ALL
     -- A check-in the office recorded for the worker, after speaking to them (the worker's own are
     -- their phone's, not the pupil's story).
     SELECT k.at, NULL, 'visit', k.visit_id::text, k.visit_id::text,
            'check-in recorded by ' || u.display_name || ' (spoke to the worker)', NULL
       FROM visit_check_ins k JOIN users u ON u.id = k.by_user_id
      WHERE k.visit_id IN (SELECT id FROM v) AND k.source = 'office'
     UNION ALL
     SELECT t.at, NULL, 'alarm', a.id::text, a.visit_id::text, 'alarm ' || a.id || ' (' || replace(a.type, '_', ' ') || '): ' || t.event, NULL
       FROM alarms a JOIN alarm_timeline t ON t.alarm_id = a.id WHERE a.visit_id IN (SELECT id FROM v)
     UNION ALL
     SELECT n.created_at, NULL, 'notice', n.id::text, n.visit_id::text,
            'notice (' || n.kind || ') to ' || n.target || ': ' || n.status, NULL
       FROM notices n WHERE n.visit_id IN (SELECT id FROM v)
     UNION ALL
     SELECT o.created_at, NULL, 'record', o.id::text,
            CASE o.source_type WHEN 'visit' THEN o.source_id
              -- A follow-up's record belongs to the visit the follow-up came from.
              WHEN 'follow_up' THEN (SELECT f.visit_id::text FROM follow_ups f WHERE f.id::text = o.source_id) END,
            replace(o.kind, '_', ' ') || ' to ' || o.sink || ': ' || o.status || coalesce(' (' || o.remote_id || ')', ''),
            jsonb_build_object('title', o.title)
       FROM outbox o WHERE o.school_id = $1 AND o.pupil_ids @> jsonb_build_array($2::text)
     ORDER BY 1, 3, 4`,
    [schoolId, misId],
  );
  return rows.map((r) => ({
    at: new Date(r.at),
    date: r.date ?? null,
    source: r.source,
    ref: String(r.ref),
    visitId: r.visit_id ?? null,
    what: r.what,
    detail: r.detail ?? null,
  }));
}
