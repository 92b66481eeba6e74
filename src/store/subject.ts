import { appendAudit } from './audit.ts';
import type { Db, Queryable } from './db.ts';
import { type GivenWhere, SECTIONS, type Section, type SubjectKind, type View } from './subject-sections.ts';

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

/** Why a value is not in an export: a secret, or information about someone else. */
export type WithheldAs = 'secret' | 'third-party';

export interface SubjectExport {
  subject: ResolvedSubject;
  generatedAt: string;
  sections: { table: string; title: string; rows: Record<string, unknown>[] }[];
  /** The columns whose values were withheld, per table, and why (`withheldWhy`). */
  withheld: { table: string; columns: string[]; as: WithheldAs }[];
  withheldWhy: Record<WithheldAs, string>;
}

/** The mark a withheld value is replaced by. */
export const WITHHELD: Record<WithheldAs, string> = {
  secret: '[withheld]',
  'third-party': '[withheld: third-party data]',
};

const THIRD_PARTY_LAW =
  'UK GDPR Art. 15(4) and DPA 2018 Sch. 2 Part 3 para 16: information identifying another person is ' +
  'given only with their consent or where it is reasonable to give it without; the ids and dates that ' +
  "identify each record are given, so the school's data protection officer can review a withheld item " +
  'and disclose it where that test is met.';

/** What the export says about the values it withheld, for each kind of subject. */
export const WITHHELD_WHY: Record<SubjectKind, Record<WithheldAs, string>> = {
  pupil: {
    secret:
      "Security credentials are withheld: the lone-worker safe word of a visit (a member of staff's duress word) is a key, not information about the pupil.",
    'third-party':
      "Information about members of staff is withheld: the visiting worker's phone, vehicle and fob, the risk notes and reasons written for staff safety, the worker's position in an alarm and the note on how it ended, what an alarm's timeline says and who acted (the entries' times are given), and delivery errors that can quote a recipient. Of an import, only this pupil's entries are given: the other pupils it changed, refused or found marked on closed days are left out of its lists. " +
      THIRD_PARTY_LAW,
  },
  staff: {
    secret:
      'Security credentials are withheld: the password hash, session and sign-in tokens, Web Push keys and the visit safe word.',
    'third-party':
      "Information about other people is withheld: on the visits, follow-ups and notices they took part in, the pupils and families (pupil ids, addresses, reasons, outcomes and concerns, risk notes, family notices, notes typed about them), another worker's phone, vehicle, fob and position, the before and after values of audit entries about anyone but their own account, the addresses and notes of address flags, alert texts, alarm resolution notes and delivery errors. What they did, when, and the ids of each record are given. " +
      THIRD_PARTY_LAW,
  },
};

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
  // Only an account that works at the school (or trust-wide): another school's staff are not this school's to export or correct.
  const { rows } = await db.query<{ id: string; staff_id: string | null }>(
    `SELECT id::text, staff_id FROM users
     WHERE (id::text = $1 OR username = $1 OR staff_id = $1) AND (schools = '{}' OR $2 = ANY(schools))
     ORDER BY (id::text = $1) DESC LIMIT 1`,
    [ref.id, ref.schoolId],
  );
  if (rows[0]) return { kind: 'staff', schoolId: ref.schoolId, key: rows[0].id, staffId: rows[0].staff_id };
  const device = await db.query('SELECT 1 FROM fob_events WHERE school_id = $1 AND staff_id = $2 LIMIT 1', [
    ref.schoolId,
    ref.id,
  ]);
  return device.rows.length ? { kind: 'staff', schoolId: ref.schoolId, key: '', staffId: ref.id } : undefined;
}

/** Whether a staff id names an account that works only at other schools (for a clear refusal). */
export async function staffOfOtherSchools(db: Queryable, ref: SubjectRef): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM users WHERE (id::text = $1 OR username = $1 OR staff_id = $1)
       AND schools <> '{}' AND NOT ($2 = ANY(schools)) LIMIT 1`,
    [ref.id, ref.schoolId],
  );
  return rows.length > 0;
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

/** A view's `givenWhere`, as a list. */
const givenWheres = (view: View | undefined): readonly GivenWhere[] =>
  view?.givenWhere === undefined ? [] : 'when' in view.givenWhere ? [view.givenWhere] : view.givenWhere;

/** Whether `column` of a row is withheld, and why; `given` is each of the view's `givenWhere` for the row. */
function withheldAs(
  section: Section,
  view: View | undefined,
  column: string,
  given: readonly boolean[],
): WithheldAs | undefined {
  if (section.withhold?.includes(column)) return 'secret';
  if (!view) return undefined;
  if (view.withhold?.includes(column)) return 'third-party';
  const where = givenWheres(view).findIndex((g) => g.columns.includes(column));
  if (where >= 0) return given[where] ? undefined : 'third-party';
  if (view.give && !view.give.includes(column)) return 'third-party';
  return undefined;
}

/**
 * Everything Doorstep holds about one person, table by table: secrets withheld, and what is about
 * someone else (staff on a pupil's visit; pupils, families and colleagues in a member of staff's
 * records) withheld as third-party data, each withheld value marked and listed with the reason.
 */
export async function exportSubject(db: Queryable, s: ResolvedSubject, now: Date): Promise<SubjectExport> {
  const sections: SubjectExport['sections'] = [];
  const withheld: SubjectExport['withheld'] = [];
  for (const section of SECTIONS) {
    const w = where(section, s);
    if (!w) continue;
    const view = s.kind === 'pupil' ? section.pupilView : section.staffView;
    const given = givenWheres(view)
      .map((g, i) => `, (${g.when}) AS "__given${i}"`)
      .join('');
    const select =
      section.table === 'audit_entries'
        ? `SELECT e.*, d.before, d.after${given} FROM audit_entries e LEFT JOIN audit_details d ON d.audit_id = e.id
           WHERE e.id IN (SELECT id FROM audit_entries WHERE ${w}) ORDER BY e.id`
        : `SELECT *${given} FROM ${section.table} WHERE ${w}${section.order ? ` ORDER BY ${section.order}` : ''}`;
    const { rows: all } = await db.query<Record<string, unknown>>(select, params(s));
    const found: Record<WithheldAs, Set<string>> = { secret: new Set(), 'third-party': new Set() };
    const share = s.kind === 'pupil' ? section.pupilShare : undefined;
    const rows = share
      ? all.filter((r) => {
          const { about, trimmed } = share(r, s.key);
          for (const c of trimmed) found['third-party'].add(c);
          return about;
        })
      : all;
    for (const r of rows) {
      const own = givenWheres(view).map((_, i) => {
        const yes = r[`__given${i}`] === true;
        delete r[`__given${i}`];
        return yes;
      });
      for (const c of Object.keys(r)) {
        const as = withheldAs(section, view, c, own);
        if (!as || r[c] === null || r[c] === undefined) continue;
        r[c] = WITHHELD[as];
        found[as].add(c);
      }
    }
    for (const as of ['secret', 'third-party'] as const)
      if (found[as].size) withheld.push({ table: section.table, columns: [...found[as]], as });
    sections.push({ table: section.table, title: section.title, rows });
  }
  return {
    subject: s,
    generatedAt: now.toISOString(),
    sections,
    withheld,
    withheldWhy: WITHHELD_WHY[s.kind],
  };
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
 *
 * A pupil's leaving date is recorded as confirmed when `confirmed` (the admin confirmed a doubtful
 * date with `--yes`): the MIS does not replace it with a different one (`markLeavers`). Recorded
 * without, a confirmation the date had is cleared — a person changed it.
 */
export async function correctField(
  db: Db,
  s: ResolvedSubject,
  field: string,
  value: string | null,
  actor: string,
  confirmed = false,
): Promise<boolean> {
  const map = CORRECTABLE[s.kind] as Record<string, string>;
  const col = map[field];
  if (!col) throw new Error(`unknown field ${field} (have: ${Object.keys(map).join(', ')})`);
  return db.transaction(async (tx) => {
    const table = s.kind === 'pupil' ? 'pupils' : 'users';
    // A member of staff is corrected only within a school their account covers (or trust-wide).
    const key =
      s.kind === 'pupil'
        ? 'school_id = $1 AND mis_id = $2'
        : "(schools = '{}' OR $1::text = ANY(schools)) AND id = $2::bigint";
    const json = col.startsWith('address->');
    const part = json ? col.slice("address->'".length, -1) : '';
    const read = json ? `address->>'${part}'` : `${col}::text`;
    const leaving = col === 'left_on';
    const { rows } = await tx.query<{ v: string | null; confirmed: boolean }>(
      `SELECT ${read} AS v, ${leaving ? 'left_on_confirmed' : 'false'} AS confirmed FROM ${table} WHERE ${key} FOR UPDATE`,
      [s.schoolId, s.key],
    );
    if (!rows[0]) throw new Error(`no ${s.kind} ${s.key} at ${s.schoolId} to correct`);
    const before = rows[0].v;
    const nowConfirmed = leaving && confirmed && value !== null;
    if (before === value && rows[0].confirmed === nowConfirmed) return false;
    const set = json
      ? `address = jsonb_set(coalesce(address, '{}'), '{${part}}', to_jsonb($3::text))`
      : `${col} = $3${leaving ? ', left_on_confirmed = $4' : ''}`;
    await tx.query(
      `UPDATE ${table} SET ${set} WHERE ${key}`,
      leaving ? [s.schoolId, s.key, value, nowConfirmed] : [s.schoolId, s.key, value],
    );
    await appendAudit(tx, {
      actor,
      action: 'subject.corrected',
      schoolId: s.schoolId,
      entityType: s.kind === 'pupil' ? 'pupil' : 'user',
      entityId: s.key,
      before: { field, value: before, ...(rows[0].confirmed ? { confirmed: true } : {}) },
      after: { field, value, ...(nowConfirmed ? { confirmed: true } : {}) },
    });
    return true;
  });
}
