import type { Db, Queryable } from './db.ts';
import { type OutboxRow, recordsFailedBySink } from './outbox.ts';

/** How many failed records the data page lists (the oldest; all are counted). */
export const FAILED_SHOWN = 100;

/**
 * What the data manager's page reads about a school: its last imports (with how many marks fell on
 * days the calendar says are closed, and the first 20 of them), sync cursors, outbox counts and
 * latest records, every failed record (the oldest FAILED_SHOWN listed) with its alert, and how many
 * fob payloads were rejected.
 */
export async function dataPageFacts(db: Db, schoolId: string) {
  const imports = await db.query<Record<string, unknown>>(
    `SELECT id, source, unit, status, finished_at, pupils_inserted, pupils_updated, marks_inserted, marks_updated,
            marks_unchanged, rejected_causes, jsonb_array_length(rejected) AS rejected_kept, calendar_problem_count AS calendar_problems,
            jsonb_path_query_array(calendar_problems, '$[0 to 19]') AS calendar_problems_first, register_closures,
            register_closure_count, error
     FROM imports WHERE school_id = $1 ORDER BY id DESC LIMIT 20`,
    [schoolId],
  );
  const cursors = await db.query<Record<string, unknown>>(
    'SELECT source, cursor, updated_at FROM sync_cursors WHERE school_id = $1',
    [schoolId],
  );
  const outbox = await db.query<{ status: string; n: string }>(
    'SELECT status, count(*)::text AS n FROM outbox WHERE school_id = $1 GROUP BY status',
    [schoolId],
  );
  const records = await db.query<Record<string, unknown>>(
    `SELECT id, kind, title, status, sink, unmatched, last_error, created_at FROM outbox WHERE school_id = $1
     ORDER BY id DESC LIMIT 20`,
    [schoolId],
  );
  // Every record that failed and waits for a person, however old (the latest 20 above are soon newer
  // records): the oldest first, each with its open "delivery failed" alert.
  const failed = await db.query<Record<string, unknown>>(
    `SELECT o.id::text AS id, o.kind, o.sink, o.attempts, o.last_error, o.created_at, o.updated_at,
            a.id::text AS alert_id, a.created_at AS alert_at, a.message AS alert_message
       FROM outbox o
       LEFT JOIN LATERAL (
         SELECT id, created_at, message FROM alerts
          WHERE school_id = o.school_id AND acknowledged_at IS NULL AND kind = 'delivery_failed'
            AND entity_type = 'outbox' AND entity_id = o.id::text
          ORDER BY id DESC LIMIT 1) a ON true
      WHERE o.school_id = $1 AND o.status = 'failed'
      ORDER BY o.id LIMIT $2`,
    [schoolId, FAILED_SHOWN],
  );
  const alertsOpen = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM alerts
      WHERE school_id = $1 AND acknowledged_at IS NULL AND kind = 'delivery_failed'`,
    [schoolId],
  );
  const rejectedFob = await db.query<{ n: string }>(
    'SELECT count(*)::text AS n FROM rejected_events WHERE school_id = $1',
    [schoolId],
  );
  const outboxCounts: Record<string, number> = Object.fromEntries(
    outbox.rows.map((r) => [r.status, Number(r.n)]),
  );
  return {
    imports: imports.rows,
    cursors: cursors.rows,
    outboxCounts,
    records: records.rows,
    recordsFailed: {
      total: outboxCounts.failed ?? 0,
      /** How many per sink (all counted). */
      bySink: await recordsFailedBySink(db, schoolId),
      /** Open "delivery failed" alerts of the school, all counted. */
      alertsOpen: Number(alertsOpen.rows[0]?.n ?? 0),
      oldest: failed.rows.map((r) => ({
        id: r.id as string,
        kind: r.kind as string,
        sink: r.sink as string,
        createdAt: new Date(r.created_at as string).toISOString(),
        /** When it was marked failed (its last change: a retry or a dismissal takes it off this list). */
        failedAt: new Date(r.updated_at as string).toISOString(),
        tries: r.attempts as number,
        /** Why: codes, statuses, field names and ids only (the sinks' errors keep no answer text). */
        reason: (r.last_error as string | null) ?? null,
        alert: r.alert_id
          ? {
              id: r.alert_id as string,
              raisedAt: new Date(r.alert_at as string).toISOString(),
              message: r.alert_message as string,
            }
          : null,
      })),
    },
    rejectedFobEvents: Number(rejectedFob.rows[0]?.n ?? 0),
  };
}

/**
 * One outbox record (`getOutbox`'s row) as the data page shows it, with its body and what its sink is
 * given besides (`sent`: the category — or why none is sent — the title as the sink files it and the
 * date; a preview, what go-live would send — from src/records/what-is-sent.ts). Its idempotency key
 * is the one sent to CPOMS / written in the Arbor note (with this install's id before it), as
 * `doorstep outbox show` prints it. `unmatched`: delivered, but to the sink's tray, on no student
 * (a person there attaches it to the child).
 */
export function outboxRecordShown(
  r: OutboxRow,
  sent: { category: string | null; noCategory?: string; title?: string; occurredAt: Date },
) {
  return {
    id: r.id,
    school_id: r.schoolId,
    kind: r.kind,
    title: r.title,
    body: r.body,
    status: r.status,
    sink: r.sink,
    idempotency_key: r.outwardKey,
    last_error: r.lastError,
    remote_id: r.remoteId,
    unmatched: r.unmatched,
    created_at: r.createdAt,
    category: sent.category,
    no_category: sent.noCategory ?? null,
    title_sent: sent.title ?? null,
    occurred_at: sent.occurredAt,
  };
}

/** One school's line of the trust overview. */
export interface SchoolOverview {
  /** Pupils on roll (not left, not hidden by retention). */
  pupils: number;
  /**
   * Pupils on roll with at least the persistent-absence rule's possible sessions this year
   * (`minSessions`) who missed 10% or more of them (DfE persistent absence).
   */
  persistentlyAbsent: number;
  /** … with at least the severe-absence rule's, who missed 50% or more (DfE severe absence). */
  severelyAbsent: number;
  openTriggers: number;
  openAlarms: number;
}

/**
 * The trust overview's figures for one school, from the stored marks: sessions on the school days
 * given (this academic year's, up to today: the calendar lives in the config, not the store) are
 * counted as the trigger rules count them — possible = marked and not "not required / not possible",
 * attended = present or approved educational activity; and, as those rules judge a pupil only on
 * enough possible sessions, one with fewer than `minSessions` (the `minSessions` of the school's
 * persistent- and severe-absence rules) is counted as neither.
 */
export async function schoolOverview(
  db: Db,
  schoolId: string,
  schoolDays: readonly string[],
  today: string,
  minSessions: { persistent: number; severe: number },
): Promise<SchoolOverview> {
  const { rows } = await db.query<Record<string, string>>(
    `WITH roll AS (
       SELECT mis_id FROM pupils
       WHERE school_id = $1 AND hidden_at IS NULL AND (left_on IS NULL OR left_on > $3::date)),
     rate AS (
       SELECT m.pupil_mis_id,
              count(*) FILTER (WHERE m.category <> 'not_possible') AS possible,
              count(*) FILTER (WHERE m.category IN ('present', 'approved_activity')) AS attended
       FROM attendance_marks m JOIN roll r ON r.mis_id = m.pupil_mis_id
       WHERE m.school_id = $1 AND m.date = ANY($2::date[])
       GROUP BY m.pupil_mis_id)
     SELECT (SELECT count(*) FROM roll)::text AS pupils,
            (SELECT count(*) FROM rate WHERE possible >= $4 AND attended <= 0.9 * possible)::text AS persistent,
            (SELECT count(*) FROM rate WHERE possible >= $5 AND attended <= 0.5 * possible)::text AS severe,
            (SELECT count(*) FROM trigger_episodes WHERE school_id = $1 AND status = 'open')::text AS triggers,
            (SELECT count(*) FROM alarms WHERE school_id = $1 AND status <> 'resolved')::text AS alarms`,
    [schoolId, [...schoolDays], today, minSessions.persistent, minSessions.severe],
  );
  const r = rows[0]!;
  return {
    pupils: Number(r.pupils),
    persistentlyAbsent: Number(r.persistent),
    severelyAbsent: Number(r.severe),
    openTriggers: Number(r.triggers),
    openAlarms: Number(r.alarms),
  };
}

/**
 * The latest date any pupil of the school has a mark on (YYYY-MM-DD), or null with no marks: read
 * from the school's latest month of rows only (a month a row: `attendance_months`, migration 040).
 */
export async function latestMarkedDate(db: Queryable, schoolId: string): Promise<string | null> {
  const { rows } = await db.query<{ latest: string | null }>(
    `SELECT to_char(max(m.month + ((s.i - 1) / 2)::int), 'YYYY-MM-DD') AS latest
     FROM attendance_months m, unnest(m.codes) WITH ORDINALITY AS s(code, i)
     WHERE m.school_id = $1 AND s.code IS NOT NULL
       AND m.month = (SELECT max(month) FROM attendance_months WHERE school_id = $1)`,
    [schoolId],
  );
  return rows[0]?.latest ?? null;
}
