import { appendAudit } from './audit.ts';
import type { Db, Queryable } from './db.ts';

/**
 * Subject access, rectification and erasure. Every table that holds a person's id has a selector
 * here: the rows about one pupil (by school and MIS id) or one member of staff (by account id and the
 * device registry's staff id). `test/store/subject.test.ts` checks the list against the schema, so a
 * new table with a pupil_mis_id, staff_id or user id column fails the tests until it is listed.
 */

export type SubjectKind = 'pupil' | 'staff';

/**
 * The ids a subject's rows are found by. Selectors use these parameters: $1 school id, $2 pupil MIS
 * id (pupil) or account id as text (staff), $3 staff id (staff; may be null).
 */
interface Section {
  table: string;
  /** What the section is, for the readable page. */
  title: string;
  pupil?: string;
  staff?: string;
  /** Columns never exported (secrets: password hashes, session tokens). */
  withhold?: readonly string[];
  order?: string;
}

const PUPIL_VISITS = `SELECT id FROM visits WHERE school_id = $1 AND pupil_mis_id = $2`;
const PUPIL_ALARMS = `SELECT id FROM alarms WHERE visit_id IN (${PUPIL_VISITS})`;
const PUPIL_EPISODES = `SELECT id FROM trigger_episodes WHERE school_id = $1 AND pupil_mis_id = $2`;
const PUPIL_RECORDS = `SELECT id FROM outbox WHERE school_id = $1 AND pupil_ids @> jsonb_build_array($2::text)`;
const ACTOR = `ANY(ARRAY['user:' || $2, $2])`;
const STAFF_VISITS = `SELECT id FROM visits WHERE $2::bigint IN (requested_by, authorised_by, lead_user_id, partner_user_id)`;
const STAFF_ALARMS = `SELECT id FROM alarms WHERE staff_id = $3 OR acknowledged_by = ${ACTOR} OR resolved_by = ${ACTOR}`;

/** Audit entries about a pupil: the pupil, their marks, episodes, visits, alarms, records, leave refusals. */
const PUPIL_AUDIT = `
  (entity_type = 'pupil' AND entity_id = $2 AND school_id = $1)
  OR (entity_type = 'attendance_mark' AND school_id = $1 AND starts_with(entity_id, $2 || '/'))
  OR (entity_type = 'trigger_episode' AND entity_id IN (SELECT id::text FROM (${PUPIL_EPISODES}) x))
  OR (entity_type = 'visit' AND entity_id IN (SELECT id::text FROM (${PUPIL_VISITS}) x))
  OR (entity_type = 'alarm' AND entity_id IN (SELECT id::text FROM (${PUPIL_ALARMS}) x))
  OR (entity_type = 'outbox' AND entity_id IN (SELECT id::text FROM (${PUPIL_RECORDS}) x))
  OR (entity_type = 'leave_refusal' AND entity_id IN (
        SELECT id::text FROM leave_refusals WHERE school_id = $1 AND pupil_mis_id = $2))`;
const STAFF_AUDIT = `actor = ${ACTOR} OR (entity_type = 'user' AND entity_id = $2)
  OR (entity_type = 'alarm' AND entity_id IN (SELECT id::text FROM (${STAFF_ALARMS}) x))`;

export const SECTIONS: readonly Section[] = [
  {
    table: 'pupils',
    title: 'Pupil details from the MIS',
    pupil: 'school_id = $1 AND mis_id = $2',
  },
  { table: 'pupil_contacts', title: 'Family contacts', pupil: 'school_id = $1 AND pupil_mis_id = $2' },
  {
    table: 'attendance_marks',
    title: 'Attendance marks',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    order: 'date, session',
  },
  {
    table: 'leave_refusals',
    title: 'Refused term-time leave',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    staff: `recorded_by = ${ACTOR}`,
  },
  { table: 'trigger_episodes', title: 'Visit triggers', pupil: 'school_id = $1 AND pupil_mis_id = $2' },
  {
    table: 'visits',
    title: 'Home visits',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    staff: `id IN (${STAFF_VISITS}) OR back_safe_by = ${ACTOR} OR follow_up_done_by = ${ACTOR} OR risk_assessed_by = ${ACTOR}`,
  },
  {
    table: 'visit_check_ins',
    title: 'Visit check-ins',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: 'by_user_id = $2::bigint',
  },
  {
    table: 'visit_return_changes',
    title: 'Changed return times',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: 'by_user_id = $2::bigint',
  },
  {
    table: 'fob_events',
    title: 'Lone-worker device events',
    staff: 'staff_id = $3',
  },
  {
    table: 'alarms',
    title: 'Alarms',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: `id IN (${STAFF_ALARMS})`,
  },
  {
    table: 'alarm_timeline',
    title: 'Alarm timelines',
    pupil: `alarm_id IN (${PUPIL_ALARMS})`,
    staff: `alarm_id IN (${STAFF_ALARMS}) OR by_whom = ${ACTOR}`,
  },
  {
    table: 'notifications',
    title: 'Notifications sent for alarms',
    pupil: `alarm_id IN (${PUPIL_ALARMS})`,
    staff: `alarm_id IN (${STAFF_ALARMS})`,
  },
  {
    table: 'notification_recipients',
    title: 'Notification receipts per recipient',
    pupil: `notification_id IN (SELECT id FROM notifications WHERE alarm_id IN (${PUPIL_ALARMS}))`,
    staff: `notification_id IN (SELECT id FROM notifications WHERE alarm_id IN (${STAFF_ALARMS}))`,
  },
  {
    table: 'notices',
    title: 'Notices sent about visits (e.g. child not seen)',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: `visit_id IN (${STAFF_VISITS})`,
  },
  {
    table: 'sms_replies',
    title: 'Replies to alarm SMS',
    pupil: `alarm_id IN (${PUPIL_ALARMS})`,
    staff: 'user_id = $2::bigint',
  },
  {
    table: 'outbox',
    title: 'Records sent to CPOMS / Arbor (with their remote ids)',
    pupil: 'school_id = $1 AND pupil_ids @> jsonb_build_array($2::text)',
  },
  {
    table: 'imports',
    title: 'Imports that changed this pupil’s marks',
    pupil: 'school_id = $1 AND changed_pupils @> jsonb_build_array($2::text)',
  },
  {
    table: 'board_events',
    title: 'Office board events',
    pupil: `school_id = $1 AND (payload->>'pupilMisId' = $2 OR payload->>'pupilId' = $2
      OR payload->>'visitId' IN (SELECT id::text FROM (${PUPIL_VISITS}) x)
      OR payload->>'alarmId' IN (SELECT id::text FROM (${PUPIL_ALARMS}) x))`,
    staff: `payload->>'staffId' = $3 OR payload->>'alarmId' IN (SELECT id::text FROM (${STAFF_ALARMS}) x)`,
  },
  {
    table: 'address_flags',
    title: 'Address flags recorded',
    staff: `created_by = ${ACTOR}`,
  },
  {
    table: 'alerts',
    title: 'Alerts acknowledged',
    staff: `acknowledged_by = ${ACTOR}`,
  },
  {
    table: 'users',
    title: 'Account',
    staff: 'id = $2::bigint OR staff_id = $3',
    withhold: ['password_hash'],
  },
  {
    table: 'sessions',
    title: 'Sign-in sessions',
    staff: 'user_id = $2::bigint',
    withhold: ['token_hash', 'csrf_token'],
  },
  {
    table: 'audit_entries',
    title: 'Audit entries (who, what, when) with their details while kept',
    pupil: PUPIL_AUDIT,
    staff: STAFF_AUDIT,
  },
];

export interface SubjectRef {
  kind: SubjectKind;
  schoolId: string;
  /** Pupil: MIS id. Staff: account id (digits), username, or device-registry staff id. */
  id: string;
}

export interface ResolvedSubject {
  kind: SubjectKind;
  schoolId: string;
  /** Pupil MIS id, or the staff member's account id ('' when they have none). */
  key: string;
  staffId: string | null;
}

export interface SubjectExport {
  subject: ResolvedSubject;
  generatedAt: string;
  sections: { table: string; title: string; rows: Record<string, unknown>[] }[];
}

/** Finds who the subject is; undefined when Doorstep holds nothing by that id. */
export async function resolveSubject(db: Queryable, ref: SubjectRef): Promise<ResolvedSubject | undefined> {
  if (ref.kind === 'pupil') {
    const { rows } = await db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM pupils WHERE school_id = $1 AND mis_id = $2)
            + (SELECT count(*) FROM visits WHERE school_id = $1 AND pupil_mis_id = $2)
            + (SELECT count(*) FROM trigger_episodes WHERE school_id = $1 AND pupil_mis_id = $2)
            + (SELECT count(*) FROM attendance_marks WHERE school_id = $1 AND pupil_mis_id = $2) AS n`,
      [ref.schoolId, ref.id],
    );
    return Number(rows[0]?.n ?? 0) > 0
      ? { kind: 'pupil', schoolId: ref.schoolId, key: ref.id, staffId: null }
      : undefined;
  }
  const { rows } = await db.query<{ id: string; staff_id: string | null }>(
    `SELECT id::text, staff_id FROM users
     WHERE (id::text = $1 OR username = $1 OR staff_id = $1) ORDER BY (id::text = $1) DESC LIMIT 1`,
    [ref.id],
  );
  if (rows[0]) return { kind: 'staff', schoolId: ref.schoolId, key: rows[0].id, staffId: rows[0].staff_id };
  const device = await db.query('SELECT 1 FROM fob_events WHERE school_id = $1 AND staff_id = $2 LIMIT 1', [
    ref.schoolId,
    ref.id,
  ]);
  return device.rows.length ? { kind: 'staff', schoolId: ref.schoolId, key: '', staffId: ref.id } : undefined;
}

function params(s: ResolvedSubject): unknown[] {
  // An account id that is not digits never matches a bigint column: use -1.
  return s.kind === 'pupil' ? [s.schoolId, s.key] : [s.schoolId, s.key === '' ? '-1' : s.key, s.staffId];
}

/** The selector used for `table`, with its parameters typed so unused ones still parse. */
function where(section: Section, s: ResolvedSubject): string | undefined {
  const sel = s.kind === 'pupil' ? section.pupil : section.staff;
  if (!sel) return undefined;
  // Every parameter must appear for PostgreSQL to infer its type.
  const used =
    s.kind === 'pupil'
      ? '$1::text IS NOT NULL AND $2::text IS NOT NULL'
      : '$1::text IS NOT NULL AND $2::text IS NOT NULL AND ($3::text IS NULL OR true)';
  return `${used} AND (${sel})`;
}

/** Everything Doorstep holds about one person, table by table (secrets withheld). */
export async function exportSubject(db: Queryable, s: ResolvedSubject, now: Date): Promise<SubjectExport> {
  const sections: SubjectExport['sections'] = [];
  for (const section of SECTIONS) {
    const w = where(section, s);
    if (!w) continue;
    const select =
      section.table === 'audit_entries'
        ? `SELECT e.*, d.before, d.after FROM audit_entries e LEFT JOIN audit_details d ON d.audit_id = e.id
           WHERE e.id IN (SELECT id FROM audit_entries WHERE ${w}) ORDER BY e.id`
        : `SELECT * FROM ${section.table} WHERE ${w}${section.order ? ` ORDER BY ${section.order}` : ''}`;
    const { rows } = await db.query<Record<string, unknown>>(select, params(s));
    for (const r of rows) for (const c of section.withhold ?? []) if (c in r) r[c] = '[withheld]';
    sections.push({ table: section.table, title: section.title, rows });
  }
  return { subject: s, generatedAt: now.toISOString(), sections };
}

const esc = (v: string) =>
  v.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The export as one self-contained, readable HTML page (no scripts; every value escaped and isolated). */
export function subjectHtml(x: SubjectExport): string {
  const who =
    x.subject.kind === 'pupil' ? `pupil ${x.subject.key}` : `staff ${x.subject.key || x.subject.staffId}`;
  const parts = x.sections.map((s) => {
    if (!s.rows.length) return `<section><h2>${esc(s.title)}</h2><p>Nothing held.</p></section>`;
    const cols = [...new Set(s.rows.flatMap((r) => Object.keys(r)))];
    const head = cols.map((c) => `<th scope="col">${esc(c)}</th>`).join('');
    const body = s.rows
      .map((r) => `<tr>${cols.map((c) => `<td><bdi>${esc(cell(r[c]))}</bdi></td>`).join('')}</tr>`)
      .join('\n');
    return `<section><h2>${esc(s.title)} <small>(${esc(s.table)}, ${s.rows.length})</small></h2>
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Doorstep: everything held about ${esc(who)} at ${esc(x.subject.schoolId)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}
td,th{border:1px solid #999;padding:2px 6px;vertical-align:top;text-align:left}td{white-space:pre-wrap}</style></head>
<body><h1>Everything Doorstep holds about ${esc(who)} at ${esc(x.subject.schoolId)}</h1>
<p>Generated ${esc(x.generatedAt)}. Records sent to CPOMS or Arbor live on there under the remote ids shown.</p>
${parts.join('\n')}
</body></html>
`;
}

/** Fields an admin may correct, per subject kind: table, key columns, and the column. */
export const CORRECTABLE = {
  pupil: {
    forename: 'forename',
    surname: 'surname',
    preferredName: 'preferred_name',
    upn: 'upn',
    dob: 'dob',
    yearGroup: 'year_group',
    addressLine1: "address->'line1'",
    addressLine2: "address->'line2'",
    town: "address->'town'",
    postcode: "address->'postcode'",
    leftOn: 'left_on',
  },
  staff: { displayName: 'display_name', phone: 'phone', email: 'email' },
} as const;

export type CorrectableField<K extends SubjectKind> = keyof (typeof CORRECTABLE)[K];

/**
 * Corrects one field (rectification), audited as `subject.corrected` with the field, its value
 * before and after in the entry's details (which retention and erasure reach). Returns false when
 * the value was already that.
 */
export async function correctField(
  db: Db,
  s: ResolvedSubject,
  field: string,
  value: string | null,
  actor: string,
): Promise<boolean> {
  const map = CORRECTABLE[s.kind] as Record<string, string>;
  const col = map[field];
  if (!col) throw new Error(`unknown field ${field} (have: ${Object.keys(map).join(', ')})`);
  return db.transaction(async (tx) => {
    const table = s.kind === 'pupil' ? 'pupils' : 'users';
    const key =
      s.kind === 'pupil' ? 'school_id = $1 AND mis_id = $2' : '$1::text IS NOT NULL AND id = $2::bigint';
    const json = col.startsWith('address->');
    const part = json ? col.slice("address->'".length, -1) : '';
    const read = json ? `address->>'${part}'` : `${col}::text`;
    const { rows } = await tx.query<{ v: string | null }>(
      `SELECT ${read} AS v FROM ${table} WHERE ${key} FOR UPDATE`,
      [s.schoolId, s.key],
    );
    if (!rows[0]) throw new Error(`no ${s.kind} ${s.key} to correct`);
    const before = rows[0].v;
    if (before === value) return false;
    const set = json
      ? `address = jsonb_set(coalesce(address, '{}'), '{${part}}', to_jsonb($3::text))`
      : `${col} = $3`;
    await tx.query(`UPDATE ${table} SET ${set} WHERE ${key}`, [s.schoolId, s.key, value]);
    await appendAudit(tx, {
      actor,
      action: 'subject.corrected',
      schoolId: s.schoolId,
      entityType: s.kind === 'pupil' ? 'pupil' : 'user',
      entityId: s.key,
      before: { field, value: before },
      after: { field, value },
    });
    return true;
  });
}

/** Rows removed by an erasure, per table. */
export type Removed = Record<string, number>;

async function run(tx: Queryable, out: Removed, label: string, sql: string, p: unknown[]) {
  const { rowCount } = await tx.query(sql, p);
  if (rowCount) out[label] = (out[label] ?? 0) + rowCount;
}

/**
 * Erases one pupil from Doorstep: their details, contacts, marks, leave refusals, triggers, visits
 * (with check-ins, return changes, visit alarms, timelines and notifications), records in the outbox,
 * their id in imports and board events, and the details of every audit entry about them. The audit
 * entries themselves stay (who, what, when; the entity reference). Refused while a visit to the pupil
 * is out (a worker out is always watched). Call inside a transaction.
 */
export async function erasePupil(tx: Queryable, schoolId: string, misId: string): Promise<Removed> {
  const p = [schoolId, misId];
  const out = await tx.query(
    `SELECT id FROM visits WHERE school_id = $1 AND pupil_mis_id = $2 AND departed_at IS NOT NULL AND returned_at IS NULL`,
    p,
  );
  if (out.rows.length)
    throw new Error(`pupil ${misId} has a visit out now (visit ${String(out.rows[0]!.id)}): not erased`);
  const removed: Removed = {};
  // Audit details first, while the references they are found by still exist.
  await run(
    tx,
    removed,
    'audit_details',
    `DELETE FROM audit_details WHERE audit_id IN (SELECT id FROM audit_entries WHERE ${PUPIL_AUDIT})`,
    p,
  );
  await run(
    tx,
    removed,
    'board_events',
    `DELETE FROM board_events WHERE ${SECTIONS.find((s) => s.table === 'board_events')!.pupil}`,
    p,
  );
  await run(
    tx,
    removed,
    'notification_recipients',
    `DELETE FROM notification_recipients WHERE notification_id IN (SELECT id FROM notifications WHERE alarm_id IN (${PUPIL_ALARMS}))`,
    p,
  );
  await run(tx, removed, 'notifications', `DELETE FROM notifications WHERE alarm_id IN (${PUPIL_ALARMS})`, p);
  await run(tx, removed, 'sms_replies', `DELETE FROM sms_replies WHERE alarm_id IN (${PUPIL_ALARMS})`, p);
  await run(
    tx,
    removed,
    'alarm_timeline',
    `DELETE FROM alarm_timeline WHERE alarm_id IN (${PUPIL_ALARMS})`,
    p,
  );
  await run(tx, removed, 'alarms', `DELETE FROM alarms WHERE id IN (${PUPIL_ALARMS})`, p);
  await run(
    tx,
    removed,
    'visit_check_ins',
    `DELETE FROM visit_check_ins WHERE visit_id IN (${PUPIL_VISITS})`,
    p,
  );
  await run(
    tx,
    removed,
    'visit_return_changes',
    `DELETE FROM visit_return_changes WHERE visit_id IN (${PUPIL_VISITS})`,
    p,
  );
  await run(tx, removed, 'notices', `DELETE FROM notices WHERE visit_id IN (${PUPIL_VISITS})`, p);
  await run(tx, removed, 'visits', `DELETE FROM visits WHERE school_id = $1 AND pupil_mis_id = $2`, p);
  await run(
    tx,
    removed,
    'trigger_episodes',
    `DELETE FROM trigger_episodes WHERE school_id = $1 AND pupil_mis_id = $2`,
    p,
  );
  await run(
    tx,
    removed,
    'outbox',
    `DELETE FROM outbox WHERE school_id = $1 AND pupil_ids @> jsonb_build_array($2::text)`,
    p,
  );
  await run(
    tx,
    removed,
    'leave_refusals',
    `DELETE FROM leave_refusals WHERE school_id = $1 AND pupil_mis_id = $2`,
    p,
  );
  await run(
    tx,
    removed,
    'attendance_marks',
    `DELETE FROM attendance_marks WHERE school_id = $1 AND pupil_mis_id = $2`,
    p,
  );
  await run(
    tx,
    removed,
    'pupil_contacts',
    `DELETE FROM pupil_contacts WHERE school_id = $1 AND pupil_mis_id = $2`,
    p,
  );
  await run(tx, removed, 'pupils', `DELETE FROM pupils WHERE school_id = $1 AND mis_id = $2`, p);
  // Imports keep their counts; the pupil's id leaves their lists.
  await run(
    tx,
    removed,
    'imports',
    `UPDATE imports SET changed_pupils = changed_pupils - $2::text,
       rejected = coalesce((SELECT jsonb_agg(r) FROM jsonb_array_elements(rejected) r WHERE position($2::text IN r::text) = 0), '[]')
     WHERE school_id = $1 AND (changed_pupils @> jsonb_build_array($2::text) OR position($2::text IN rejected::text) > 0)`,
    p,
  );
  return removed;
}

/** Erases a pupil and audits it (references only: the entry names the pupil's id and the counts). */
export async function erasePupilAudited(
  db: Db,
  schoolId: string,
  misId: string,
  actor: string,
): Promise<Removed> {
  return db.transaction(async (tx) => {
    const removed = await erasePupil(tx, schoolId, misId);
    await appendAudit(tx, {
      actor,
      action: 'subject.erased',
      schoolId,
      entityType: 'pupil',
      entityId: misId,
      after: { removed },
    });
    return removed;
  });
}
