import type { Finding } from '../domain/triggers/finding.ts';
import { appendAudit } from './audit.ts';
import type { Queryable } from './db.ts';
import { textCell } from './json-rows.ts';

export interface OpenEpisode {
  id: string;
  pupilMisId: string;
  ruleKey: string;
  action: string;
  role: string;
  explanation: string;
  evidence: unknown;
  openedOn: string;
}

export async function openEpisodesFor(db: Queryable, schoolId: string, pupilIds: readonly string[] | 'all') {
  const { rows } = await db.query<{
    id: string;
    pupil_mis_id: string;
    rule_key: string;
    action: string;
    role: string;
    explanation: string;
    evidence: unknown;
    opened_on: string;
  }>(
    `SELECT id, pupil_mis_id, rule_key, action, role, explanation, evidence, to_char(opened_on, 'YYYY-MM-DD') AS opened_on
     FROM trigger_episodes WHERE school_id = $1 AND status = 'open'
     ${pupilIds === 'all' ? '' : 'AND pupil_mis_id = ANY($2::text[])'}`,
    pupilIds === 'all' ? [schoolId] : [schoolId, pupilIds],
  );
  const byKey = new Map<string, OpenEpisode>();
  for (const r of rows) {
    byKey.set(`${r.pupil_mis_id}|${r.rule_key}`, {
      id: String(r.id),
      pupilMisId: r.pupil_mis_id,
      ruleKey: r.rule_key,
      action: r.action,
      role: r.role,
      explanation: r.explanation,
      evidence: r.evidence,
      openedOn: r.opened_on,
    });
  }
  return byKey;
}

/**
 * Which of `ruleKeys` have an open episode for the pupil (their keys, and the titles they opened
 * with) standing for a child not in school now: not one kept open for a return still due after an
 * absence that has ended (`evidence.ended`), nor a run whose latest day the pupil was in school, late
 * (`evidence.seenLast`: unauthorised absence in the statistics, not a child missing education now).
 */
export async function openTriggersOf(
  db: Queryable,
  schoolId: string,
  pupilMisId: string,
  ruleKeys: readonly string[],
): Promise<{ ruleKey: string; title: string }[]> {
  if (ruleKeys.length === 0) return [];
  const { rows } = await db.query<{ rule_key: string; title: string }>(
    `SELECT rule_key, title FROM trigger_episodes
     WHERE school_id = $1 AND pupil_mis_id = $2 AND status = 'open' AND rule_key = ANY($3::text[])
       AND evidence->>'ended' IS NULL AND evidence->>'seenLast' IS NULL
     ORDER BY rule_key`,
    [schoolId, pupilMisId, ruleKeys],
  );
  return rows.map((r) => ({ ruleKey: r.rule_key, title: r.title }));
}

/** The evidence of the closed episodes of these pupils and rules, by `pupil|rule`. */
export async function closedEvidenceOf(
  db: Queryable,
  schoolId: string,
  pupilIds: readonly string[],
  ruleKeys: readonly string[],
): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  if (pupilIds.length === 0 || ruleKeys.length === 0) return out;
  const { rows } = await db.query<{ pupil_mis_id: string; rule_key: string; evidence: unknown }>(
    `SELECT pupil_mis_id, rule_key, evidence FROM trigger_episodes
     WHERE school_id = $1 AND status = 'closed' AND pupil_mis_id = ANY($2::text[]) AND rule_key = ANY($3::text[])`,
    [schoolId, pupilIds, ruleKeys],
  );
  for (const r of rows) {
    const key = `${r.pupil_mis_id}|${r.rule_key}`;
    out.set(key, [...(out.get(key) ?? []), r.evidence]);
  }
  return out;
}

export interface NewEpisode {
  schoolId: string;
  pupilMisId: string;
  finding: Finding;
  today: string;
}

export async function insertEpisode(tx: Queryable, e: NewEpisode): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9) RETURNING id`,
    [
      e.schoolId,
      e.pupilMisId,
      e.finding.ruleKey,
      e.finding.title,
      e.finding.action,
      e.finding.role,
      e.today,
      e.finding.explanation,
      JSON.stringify(e.finding.evidence),
    ],
  );
  return String(rows[0]!.id);
}

/**
 * Opens many episodes in one statement (the nightly run's first night opens thousands). Returns
 * their ids by `pupil|ruleKey` (at most one open episode per pupil and rule).
 */
export async function insertEpisodes(
  tx: Queryable,
  list: readonly NewEpisode[],
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  if (list.length === 0) return ids;
  // The rows as one JSON document: each evidence is written once, as JSON, not serialised and then
  // escaped again into an array literal (that escaping was most of a first night's cost in the worker).
  const { rows } = await tx.query<{ id: string; pupil_mis_id: string; rule_key: string }>(
    `INSERT INTO trigger_episodes (school_id, pupil_mis_id, rule_key, title, action, role, status, opened_on, explanation, evidence)
     SELECT school_id, pupil_mis_id, rule_key, title, action, role, 'open', opened_on, explanation, evidence
     FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (school_id text, pupil_mis_id text, rule_key text, title text,
                     action text, role text, opened_on date, explanation text, evidence jsonb))
          WITH ORDINALITY AS u(school_id, pupil_mis_id, rule_key, title, action, role, opened_on, explanation, evidence, n)
     ORDER BY n
     RETURNING id, pupil_mis_id, rule_key`,
    [
      JSON.stringify(
        list.map((e) => ({
          school_id: textCell(e.schoolId),
          pupil_mis_id: textCell(e.pupilMisId),
          rule_key: textCell(e.finding.ruleKey),
          title: textCell(e.finding.title),
          action: e.finding.action,
          role: textCell(e.finding.role),
          opened_on: e.today,
          explanation: textCell(e.finding.explanation),
          evidence: e.finding.evidence,
        })),
      ),
    ],
  );
  for (const r of rows) ids.set(`${r.pupil_mis_id}|${r.rule_key}`, String(r.id));
  return ids;
}

export async function updateEpisode(tx: Queryable, id: string, f: Finding): Promise<void> {
  await tx.query(
    `UPDATE trigger_episodes SET action = $2, role = $3, explanation = $4, evidence = $5, updated_at = now() WHERE id = $1`,
    [id, f.action, f.role, f.explanation, JSON.stringify(f.evidence)],
  );
}

/**
 * The recommended actions each episode has been told at — raised (`trigger.raised`) or escalated
 * (`trigger.escalated`) — from its audit entries, by episode id. A rise to a level already told
 * writes no second trigger note.
 */
export async function levelsNotified(
  tx: Queryable,
  episodeIds: readonly string[],
): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  if (episodeIds.length === 0) return out;
  const { rows } = await tx.query<{ entity_id: string; action: string | null }>(
    `SELECT entity_id, after->>'action' AS action FROM audit_log
     WHERE entity_type = 'trigger_episode' AND entity_id = ANY($1::text[])
       AND action IN ('trigger.raised', 'trigger.escalated')`,
    [episodeIds],
  );
  for (const r of rows) {
    if (r.action === null) continue;
    const set = out.get(r.entity_id) ?? new Set<string>();
    set.add(r.action);
    out.set(r.entity_id, set);
  }
  return out;
}

export async function closeEpisode(
  tx: Queryable,
  id: string,
  today: string,
  actor: string,
  schoolId: string,
): Promise<void> {
  await tx.query(
    `UPDATE trigger_episodes SET status = 'closed', closed_on = $2, updated_at = now() WHERE id = $1`,
    [id, today],
  );
  await appendAudit(tx, {
    actor,
    action: 'trigger.closed',
    schoolId,
    entityType: 'trigger_episode',
    entityId: id,
    after: { closedOn: today },
  });
}

/**
 * One of the school's trigger episodes a visit is asked for from, locked for the rest of the
 * transaction; undefined: none. With the visit already asked for from it (not cancelled), if any —
 * read after the lock, in a statement of its own: two people asking at once, the second waits for
 * the first and sees its visit (a read in the locking statement would see the rows as they were
 * before the wait).
 */
export async function episodeForVisit(db: Queryable, schoolId: string, episodeId: string) {
  const { rows } = await db.query<{
    id: string;
    pupil_mis_id: string;
    title: string;
    action: string;
    status: string;
    closed_on: string | null;
  }>(
    `SELECT t.id, t.pupil_mis_id, t.title, t.action, t.status, to_char(t.closed_on, 'YYYY-MM-DD') AS closed_on
     FROM trigger_episodes t WHERE t.id = $1 AND t.school_id = $2 FOR UPDATE`,
    [episodeId, schoolId],
  );
  const e = rows[0];
  if (!e) return undefined;
  return { ...e, visit_id: await visitOfEpisode(db, String(e.id)) };
}

/** The visit asked for from an episode (not cancelled), if any. */
async function visitOfEpisode(db: Queryable, episodeId: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id::text FROM visits WHERE trigger_episode_id = $1 AND status <> 'cancelled' ORDER BY id LIMIT 1`,
    [episodeId],
  );
  return rows[0]?.id ?? null;
}

/**
 * The pupil's oldest open trigger whose action is a visit (`actions`) and that has no visit yet
 * (none, or only cancelled ones), locked: a visit asked for by hand for this pupil is its visit. The
 * candidates are locked first and each looked at after (as `episodeForVisit`).
 */
export async function openVisitTriggerOf(
  tx: Queryable,
  schoolId: string,
  pupilMisId: string,
  actions: readonly string[],
): Promise<string | undefined> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT t.id FROM trigger_episodes t
     WHERE t.school_id = $1 AND t.pupil_mis_id = $2 AND t.status = 'open' AND t.action = ANY($3::text[])
     ORDER BY t.opened_on, t.id LIMIT 20 FOR UPDATE OF t`,
    [schoolId, pupilMisId, [...actions]],
  );
  for (const r of rows) if ((await visitOfEpisode(tx, String(r.id))) === null) return String(r.id);
  return undefined;
}

/** One of the school's episodes, locked for the rest of the transaction; undefined: none. */
export async function lockEpisode(tx: Queryable, schoolId: string, episodeId: string) {
  const { rows } = await tx.query<{
    id: string;
    pupil_mis_id: string;
    title: string;
    action: string;
    role: string;
    status: string;
    opened_on: string;
    closed_on: string | null;
    evidence: unknown;
  }>(
    `SELECT id, pupil_mis_id, title, action, role, status, to_char(opened_on, 'YYYY-MM-DD') AS opened_on,
            to_char(closed_on, 'YYYY-MM-DD') AS closed_on, evidence
     FROM trigger_episodes WHERE id = $1 AND school_id = $2 FOR UPDATE`,
    [episodeId, schoolId],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: String(r.id),
    pupilMisId: r.pupil_mis_id,
    title: r.title,
    action: r.action,
    role: r.role,
    status: r.status,
    openedOn: r.opened_on,
    closedOn: r.closed_on,
    evidence: r.evidence,
  };
}

/**
 * A trigger's (non-visit) action recorded done — the action as it stands, the day, who
 * (`user:<id>`), what was done. False when that action of the episode was recorded already.
 */
export async function insertTriggerAction(
  tx: Queryable,
  a: {
    schoolId: string;
    episodeId: string;
    pupilMisId: string;
    action: string;
    on: string;
    by: string;
    note: string;
    at: Date;
  },
): Promise<boolean> {
  const r = await tx.query(
    `INSERT INTO trigger_actions (school_id, episode_id, pupil_mis_id, action, done_on, done_by, note, recorded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (episode_id, action) DO NOTHING`,
    [a.schoolId, a.episodeId, a.pupilMisId, a.action, a.on, a.by, a.note, a.at],
  );
  return r.rowCount > 0;
}

export interface EpisodeRow {
  id: string;
  pupilMisId: string;
  ruleKey: string;
  title: string;
  action: string;
  role: string;
  status: string;
  openedOn: string;
  closedOn: string | null;
  explanation: string;
  evidence: unknown;
  /** The actions recorded done (not a visit's: those are the visits'), oldest first. */
  actionsDone: { action: string; on: string; byName: string | null; note: string }[];
}

export async function listEpisodes(
  db: Queryable,
  schoolId: string,
  q: { pupilId?: string; status?: 'open' | 'closed' } = {},
) {
  const params: unknown[] = [schoolId];
  let where = 't.school_id = $1';
  if (q.status) {
    params.push(q.status);
    where += ` AND t.status = $${params.length}`;
  }
  if (q.pupilId) {
    params.push(q.pupilId);
    where += ` AND t.pupil_mis_id = $${params.length}`;
  }
  const { rows } = await db.query<{
    id: string;
    pupil_mis_id: string;
    rule_key: string;
    title: string;
    action: string;
    role: string;
    status: string;
    opened_on: string;
    closed_on: string | null;
    explanation: string;
    evidence: unknown;
    actions_done: { action: string; on: string; byName: string | null; note: string }[] | null;
  }>(
    `SELECT t.id, t.pupil_mis_id, t.rule_key, t.title, t.action, t.role, t.status,
            to_char(t.opened_on, 'YYYY-MM-DD') AS opened_on, to_char(t.closed_on, 'YYYY-MM-DD') AS closed_on,
            t.explanation, t.evidence,
            (SELECT jsonb_agg(jsonb_build_object('action', a.action, 'on', to_char(a.done_on, 'YYYY-MM-DD'),
                      'byName', u.display_name, 'note', a.note) ORDER BY a.recorded_at, a.id)
               FROM trigger_actions a LEFT JOIN users u ON a.done_by = 'user:' || u.id
              WHERE a.episode_id = t.id) AS actions_done
     FROM trigger_episodes t
     WHERE ${where} ORDER BY t.opened_on, t.pupil_mis_id, t.rule_key`,
    params,
  );
  return rows.map(
    (r): EpisodeRow => ({
      id: String(r.id),
      pupilMisId: r.pupil_mis_id,
      ruleKey: r.rule_key,
      title: r.title,
      action: r.action,
      role: r.role,
      status: r.status,
      openedOn: r.opened_on,
      closedOn: r.closed_on,
      explanation: r.explanation,
      evidence: r.evidence,
      actionsDone: r.actions_done ?? [],
    }),
  );
}

/** Pupils (flags, UPN) and their marks from `from`, for evaluation. */
export async function loadAttendance(
  db: Queryable,
  schoolId: string,
  pupilIds: readonly string[],
  from: string,
) {
  const pupils = await db.query<{
    mis_id: string;
    upn: string | null;
    flags: Record<string, boolean>;
    left_on: string | null;
    left_to: string | null;
  }>(
    // The MIS's flags, and those set by hand in Doorstep (true while set); off roll: since when, where to.
    `SELECT mis_id, upn,
            flags || COALESCE((SELECT jsonb_object_agg(k, true) FROM jsonb_object_keys(manual_flags) AS k), '{}') AS flags,
            to_char(left_on, 'YYYY-MM-DD') AS left_on, left_to
     FROM pupils WHERE school_id = $1 AND mis_id = ANY($2::text[])`,
    [schoolId, pupilIds],
  );
  // A month of a pupil's marks per row (040), as stored: the codes of the month's 62 sessions as
  // text separated by commas (an empty field: no mark; statutory codes never hold a comma), read by
  // the key's range per pupil with no expansion, sort or grouping — the evaluation lays them over
  // the calendar itself (`attendanceViews`).
  const marks = await db.query<{ pupil_mis_id: string; month: string; codes: string }>(
    `SELECT pupil_mis_id, to_char(month, 'YYYY-MM-DD') AS month, array_to_string(codes, ',', '') AS codes
     FROM attendance_months
     WHERE school_id = $1 AND pupil_mis_id = ANY($2::text[]) AND month >= date_trunc('month', $3::date)`,
    [schoolId, pupilIds, from],
  );
  const refusals = await db.query<{ pupil_mis_id: string; from_date: string; to_date: string }>(
    `SELECT pupil_mis_id, to_char(from_date, 'YYYY-MM-DD') AS from_date, to_char(to_date, 'YYYY-MM-DD') AS to_date
     FROM leave_refusals WHERE school_id = $1 AND pupil_mis_id = ANY($2::text[]) AND to_date >= $3 ORDER BY from_date`,
    [schoolId, pupilIds, from],
  );
  return { pupils: pupils.rows, marks: marks.rows, refusals: refusals.rows };
}

export async function recordLeaveRefusal(
  tx: Queryable,
  r: { schoolId: string; pupilMisId: string; from: string; to: string; recordedBy: string },
): Promise<string | null> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO leave_refusals (school_id, pupil_mis_id, from_date, to_date, recorded_by) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (school_id, pupil_mis_id, from_date, to_date) DO NOTHING RETURNING id`,
    [r.schoolId, r.pupilMisId, r.from, r.to, r.recordedBy],
  );
  if (!rows[0]) return null;
  const id = String(rows[0].id);
  await appendAudit(tx, {
    actor: r.recordedBy,
    action: 'leave.refusal.recorded',
    schoolId: r.schoolId,
    entityType: 'leave_refusal',
    entityId: id,
    after: { pupil: r.pupilMisId, from: r.from, to: r.to },
  });
  return id;
}

/** Pupil ids of a school in pages, for the nightly run. */
export async function pupilIdPage(
  db: Queryable,
  schoolId: string,
  after: string,
  limit: number,
): Promise<string[]> {
  const { rows } = await db.query<{ mis_id: string }>(
    'SELECT mis_id FROM pupils WHERE school_id = $1 AND mis_id > $2 ORDER BY mis_id LIMIT $3',
    [schoolId, after, limit],
  );
  return rows.map((r) => r.mis_id);
}
