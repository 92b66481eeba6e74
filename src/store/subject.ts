import { appendAudit } from './audit.ts';
import type { Db, Queryable } from './db.ts';
import { SECTIONS, type Section, type SubjectKind } from './subject-sections.ts';

/**
 * Subject access, rectification and erasure. Every table that holds a person's id has a selector
 * here: the rows about one pupil (by school and MIS id) or one member of staff (by account id and the
 * device registry's staff id). `test/store/subject.test.ts` checks the list against the schema, so a
 * new table with a pupil_mis_id, staff_id or user id column fails the tests until it is listed.
 */

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
    leftTo: 'left_to',
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
