import { ATTENDED_CATEGORIES } from '../domain/attendance/codes.ts';
import { monthOf, SLOTS_PER_MONTH, slotOf } from '../domain/attendance/month-slots.ts';
import { intArray, textArray } from './array-literal.ts';
import type { Queryable } from './db.ts';

/**
 * SQL for the attendance import. Each import unit loads its rows into temporary staging tables
 * (dropped at commit) and is then applied with set-based upserts, all in the caller's transaction.
 *
 * A staged row keeps where it is as its reader gave it: `line`, its line in a file (none from an
 * API, which has no lines), and `record`, its record in the unit. Rows are ordered by `IN_ORDER`.
 */
export async function createStaging(tx: Queryable): Promise<void> {
  await tx.exec(`
    CREATE TEMP TABLE IF NOT EXISTS stage_marks (
      grp INTEGER NOT NULL DEFAULT 0, line INTEGER, record INTEGER, pupil_mis_id TEXT NOT NULL, date DATE NOT NULL, session TEXT NOT NULL,
      code TEXT NOT NULL, category TEXT NOT NULL, local_code TEXT, minutes_late INTEGER
    ) ON COMMIT DROP;
    CREATE TEMP TABLE IF NOT EXISTS stage_rejected_marks (
      grp INTEGER NOT NULL DEFAULT 0, line INTEGER, record INTEGER, pupil_mis_id TEXT NOT NULL, date DATE NOT NULL, session TEXT NOT NULL,
      code TEXT NOT NULL, category TEXT NOT NULL, local_code TEXT, minutes_late INTEGER
    ) ON COMMIT DROP;
    CREATE TEMP TABLE IF NOT EXISTS stage_pupils (
      line INTEGER, record INTEGER, place TEXT NOT NULL, mis_id TEXT NOT NULL, data JSONB NOT NULL
    ) ON COMMIT DROP;
  `);
}

/** A staged row's place in its unit, in the unit's order: its line in a file, else its record (an API's). */
const POSITION = 'COALESCE(line, record, 0)';
/** The unit's order: by `POSITION`, then by record — an XML file's records may share a line (all on one). */
const IN_ORDER = `${POSITION}, record`;
/** The unit's order, last row first (`DISTINCT ON` keeps the last). */
const LAST_FIRST = `${POSITION} DESC, record DESC NULLS LAST`;

/** Where a staged row is: its line in a file (null from an API, which has none) and its record. */
export interface StagedAt {
  line: number | null;
  record: number | null;
}

/** The staged rows' places, from `array_agg(line …)` and `array_agg(record …)` in one order. */
function placesOf(lines: readonly (number | null)[], records: readonly (number | null)[]): StagedAt[] {
  return lines.map((line, i) => ({ line, record: records[i] ?? null }));
}

const MARK_VALUES = 'line, record, pupil_mis_id, date, session, code, category, local_code, minutes_late';

/** Staged marks, column by column (one array per column: far fewer objects than one per row). */
export class MarkColumns {
  /** The mark's line in a file; null from an API (which has no lines). */
  line: (number | null)[] = [];
  record: (number | null)[] = [];
  pupilMisId: string[] = [];
  date: string[] = [];
  session: string[] = [];
  code: string[] = [];
  category: string[] = [];
  localCode: (string | null)[] = [];
  minutesLate: (number | null)[] = [];

  get length(): number {
    return this.line.length;
  }

  /** Adds a mark (positional, so reading a file allocates no object per mark). */
  push(
    line: number | null,
    record: number | null,
    pupilMisId: string,
    date: string,
    session: string,
    code: string,
    category: string,
    localCode: string | null,
    minutesLate: number | null,
  ): void {
    this.line.push(line);
    this.record.push(record);
    this.pupilMisId.push(pupilMisId);
    this.date.push(date);
    this.session.push(session);
    this.code.push(code);
    this.category.push(category);
    this.localCode.push(localCode);
    this.minutesLate.push(minutesLate);
  }

  /** Adds mark `i` of `from`. */
  pushFrom(from: MarkColumns, i: number): void {
    this.push(
      from.line[i] ?? null,
      from.record[i] ?? null,
      from.pupilMisId[i]!,
      from.date[i]!,
      from.session[i]!,
      from.code[i]!,
      from.category[i]!,
      from.localCode[i] ?? null,
      from.minutesLate[i] ?? null,
    );
  }
}

/** The columns as array literals, in `MARK_VALUES` order. */
function markArrays(c: MarkColumns): string[] {
  return [
    intArray(c.line),
    intArray(c.record),
    textArray(c.pupilMisId),
    textArray(c.date),
    textArray(c.session),
    textArray(c.code),
    textArray(c.category),
    textArray(c.localCode),
    intArray(c.minutesLate),
  ];
}

/** Stages a group of marks without applying them (applied later with `applyMarks({ stagedGroup })`). */
export async function stageMarks(tx: Queryable, c: MarkColumns, groupNo: number): Promise<void> {
  await stageInto(tx, 'stage_marks', c, groupNo);
}

/**
 * Stages the rows of a group rejected for their mark (a code from before the 2024 code set, a
 * meaning the MIS and the code table differ on) — never applied, but still a mark the unit gave its
 * session: `conflictingMarks` sets them beside the applied ones. `code` holds the mark as given,
 * `category` the MIS's own category of it ('' when it gave none).
 */
export async function stageRejectedMarks(tx: Queryable, c: MarkColumns, groupNo: number): Promise<void> {
  await stageInto(tx, 'stage_rejected_marks', c, groupNo);
}

async function stageInto(
  tx: Queryable,
  table: 'stage_marks' | 'stage_rejected_marks',
  c: MarkColumns,
  groupNo: number,
): Promise<void> {
  if (c.length === 0) return;
  await tx.query(
    `INSERT INTO ${table} (grp, ${MARK_VALUES})
     SELECT $1, * FROM unnest($2::int[], $3::int[], $4::text[], $5::date[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[])`,
    [groupNo, ...markArrays(c)],
  );
}

export interface StagedPupil {
  /** The record's line in a file; null from an API (which has no lines). */
  line: number | null;
  record: number | null;
  /** Where the record is, as reports name it (`pupils.xml, line 3, record 1`; an API's `record 4`). */
  place: string;
  misId: string;
  /** Columns of `pupils` (and `contacts`) as JSON. */
  data: Record<string, unknown>;
}

export async function stagePupils(tx: Queryable, rows: readonly StagedPupil[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO stage_pupils (line, record, place, mis_id, data)
     SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::jsonb[])`,
    [
      rows.map((r) => r.line),
      rows.map((r) => r.record),
      rows.map((r) => r.place),
      rows.map((r) => r.misId),
      rows.map((r) => JSON.stringify(r.data)),
    ],
  );
}

/**
 * CTF carries only UPNs: point staged rows at the school's pupil with that UPN, where one exists.
 * A UPN more than one of the school's pupils carries (a re-admission under a new MIS id, a data
 * error) matches nobody: returned, with the pupils' MIS ids, for the import to refuse — never guessed.
 * `matched`: each UPN the unit's marks or pupils gave that now names a pupil's MIS id (what was said
 * of it while the unit was read — a mark on a closed day — is said under the MIS id).
 */
export async function matchStagedByUpn(
  tx: Queryable,
  schoolId: string,
): Promise<{ ambiguous: { upn: string; misIds: string[] }[]; matched: Map<string, string> }> {
  const { rows: ambiguous } = await tx.query<{ upn: string; mis_ids: string[] }>(
    `SELECT p.upn, array_agg(p.mis_id ORDER BY p.mis_id) AS mis_ids
     FROM pupils p
     WHERE p.school_id = $1
       AND p.upn IN (SELECT mis_id FROM stage_pupils UNION SELECT pupil_mis_id FROM stage_marks)
     GROUP BY p.upn HAVING count(*) > 1 ORDER BY p.upn LIMIT 5`,
    [schoolId],
  );
  if (ambiguous.length > 0)
    return { ambiguous: ambiguous.map((r) => ({ upn: r.upn, misIds: r.mis_ids })), matched: new Map() };
  const { rows: matched } = await tx.query<{ upn: string; mis_id: string }>(
    `SELECT p.upn, p.mis_id FROM pupils p
     WHERE p.school_id = $1
       AND p.upn IN (SELECT mis_id FROM stage_pupils UNION SELECT pupil_mis_id FROM stage_marks)`,
    [schoolId],
  );
  await tx.query(
    `UPDATE stage_pupils s SET mis_id = p.mis_id FROM pupils p WHERE p.school_id = $1 AND p.upn = s.mis_id`,
    [schoolId],
  );
  for (const table of ['stage_marks', 'stage_rejected_marks'])
    await tx.query(
      `UPDATE ${table} s SET pupil_mis_id = p.mis_id FROM pupils p WHERE p.school_id = $1 AND p.upn = s.pupil_mis_id`,
      [schoolId],
    );
  return { ambiguous: [], matched: new Map(matched.map((r) => [r.upn, r.mis_id])) };
}

/**
 * The CTF's pupils no pupil of the school has the UPN of (after `matchStagedByUpn`: still staged under
 * their UPN), taken out of the unit's pupils: where the CTF is not the school's own MIS export, such
 * a pupil is not added (the school's MIS export brings them, under their MIS id). Their UPN and the
 * first line of their record; their staged marks stay, for the import to hold.
 */
export async function takeStagedNewcomers(
  tx: Queryable,
  schoolId: string,
): Promise<{ upn: string; line: number }[]> {
  const { rows } = await tx.query<{ upn: string; line: number }>(
    `WITH gone AS (
       DELETE FROM stage_pupils s
       WHERE NOT EXISTS (SELECT 1 FROM pupils p WHERE p.school_id = $1 AND p.mis_id = s.mis_id)
       RETURNING s.mis_id, s.line)
     SELECT mis_id AS upn, min(line)::int AS line FROM gone GROUP BY mis_id ORDER BY min(line)`,
    [schoolId],
  );
  return rows;
}

/**
 * Same pupil, date and session given different marks in one unit: the key and where its marks are,
 * in order. A row rejected for its mark (`stageRejectedMarks`) is one of them: beside an applied
 * mark it is always a different one (the same row would have been rejected too); two such rows
 * differ when their marks do.
 */
export async function conflictingMarks(
  tx: Queryable,
  limit = 5,
): Promise<{ pupil_mis_id: string; date: string; session: string; at: StagedAt[] }[]> {
  const { rows } = await tx.query<{
    pupil_mis_id: string;
    date: string;
    session: string;
    lines: (number | null)[];
    records: (number | null)[];
  }>(
    `SELECT pupil_mis_id, to_char(date, 'YYYY-MM-DD') AS date, session,
            array_agg(line ORDER BY ${IN_ORDER}) AS lines, array_agg(record ORDER BY ${IN_ORDER}) AS records
     FROM (SELECT line, record, pupil_mis_id, date, session, false AS rejected, code, category, local_code, minutes_late
             FROM stage_marks
           UNION ALL
           SELECT line, record, pupil_mis_id, date, session, true, code, category, local_code, minutes_late
             FROM stage_rejected_marks) given
     GROUP BY pupil_mis_id, date, session
     HAVING count(DISTINCT (rejected, code, category, local_code, minutes_late)) > 1
     ORDER BY min(${POSITION}) LIMIT $1`,
    [limit],
  );
  return rows.map(({ lines, records, ...key }) => ({ ...key, at: placesOf(lines, records) }));
}

/**
 * One pupil given two different records in one unit (a CP plan Yes on one line, No on another): the
 * pupil and the lines of its records, for the import to refuse — never the last line silently taken.
 * Identical repeats are no conflict. `repeats`: how many staged rows repeat a pupil (counted once).
 */
export async function conflictingPupils(
  tx: Queryable,
  limit = 5,
): Promise<{ conflicts: { mis_id: string; at: StagedAt[] }[]; repeats: number }> {
  const { rows } = await tx.query<{ mis_id: string; lines: (number | null)[]; records: (number | null)[] }>(
    `SELECT mis_id, array_agg(line ORDER BY ${IN_ORDER}) AS lines, array_agg(record ORDER BY ${IN_ORDER}) AS records
     FROM stage_pupils GROUP BY mis_id HAVING count(DISTINCT data) > 1
     ORDER BY min(${POSITION}) LIMIT $1`,
    [limit],
  );
  const { rows: counted } = await tx.query<{ repeats: number }>(
    'SELECT (count(*) - count(DISTINCT mis_id))::int AS repeats FROM stage_pupils',
  );
  return {
    conflicts: rows.map((r) => ({ mis_id: r.mis_id, at: placesOf(r.lines, r.records) })),
    repeats: counted[0]?.repeats ?? 0,
  };
}

export interface UpsertCounts {
  inserted: number;
  updated: number;
  /**
   * Pupils the school had whose flags this unit changed (a CP plan begun or ended, a welfare concern
   * in the MIS): the trigger rules read them, so they are evaluated as pupils whose marks changed are.
   */
  flagsChanged: string[];
}

export async function upsertPupils(tx: Queryable, schoolId: string): Promise<UpsertCounts> {
  const { rows } = await tx.query<{ mis_id: string; inserted: boolean; flags_changed: boolean }>(
    `WITH latest AS (
       SELECT DISTINCT ON (mis_id) mis_id, data FROM stage_pupils ORDER BY mis_id, ${LAST_FIRST}
     ),
     -- Read before the upsert (the statement's snapshot): the flags as they were.
     flagged AS (
       SELECT l.mis_id FROM latest l JOIN pupils p ON p.school_id = $1 AND p.mis_id = l.mis_id
       WHERE NOT (p.flags @> COALESCE(l.data->'flags', '{}'::jsonb))
     ),
     upserted AS (
     INSERT INTO pupils (school_id, mis_id, upn, forename, surname, preferred_name, dob, year_group, address, flags, updated_at)
     -- A field the export does not carry (its key absent) keeps what the pupil had; one it carries
     -- empty (null) clears it. A names-only export must not wipe addresses a fuller one gave.
     SELECT $1, l.mis_id,
            CASE WHEN l.data ? 'upn' THEN l.data->>'upn' ELSE p.upn END,
            CASE WHEN l.data ? 'forename' THEN l.data->>'forename' ELSE p.forename END,
            CASE WHEN l.data ? 'surname' THEN l.data->>'surname' ELSE p.surname END,
            CASE WHEN l.data ? 'preferredName' THEN l.data->>'preferredName' ELSE p.preferred_name END,
            CASE WHEN l.data ? 'dob' THEN (l.data->>'dob')::date ELSE p.dob END,
            CASE WHEN l.data ? 'yearGroup' THEN l.data->>'yearGroup' ELSE p.year_group END,
            CASE WHEN NOT l.data ? 'address' THEN p.address
                 WHEN l.data->'address' = 'null'::jsonb THEN NULL
                 -- Part by part (a postcode-only file keeps the street); no part left: no address.
                 ELSE (SELECT CASE WHEN jsonb_strip_nulls(m) = '{}'::jsonb THEN NULL ELSE m END
                       FROM (SELECT '{"line1":null,"line2":null,"town":null,"postcode":null}'::jsonb
                                    || COALESCE(p.address, '{}'::jsonb) || (l.data->'address') AS m) parts)
            END,
            COALESCE(l.data->'flags', '{}'::jsonb), now()
     FROM latest l LEFT JOIN pupils p ON p.school_id = $1 AND p.mis_id = l.mis_id
     ON CONFLICT (school_id, mis_id) DO UPDATE SET
       upn = EXCLUDED.upn, forename = EXCLUDED.forename, surname = EXCLUDED.surname,
       preferred_name = EXCLUDED.preferred_name, dob = EXCLUDED.dob, year_group = EXCLUDED.year_group,
       address = EXCLUDED.address, flags = pupils.flags || EXCLUDED.flags, updated_at = now()
     WHERE (pupils.upn, pupils.forename, pupils.surname, pupils.preferred_name, pupils.dob, pupils.year_group, pupils.address)
           IS DISTINCT FROM (EXCLUDED.upn, EXCLUDED.forename, EXCLUDED.surname, EXCLUDED.preferred_name, EXCLUDED.dob,
                             EXCLUDED.year_group, EXCLUDED.address)
        OR NOT (pupils.flags @> EXCLUDED.flags)
     RETURNING mis_id, (xmax = 0) AS inserted)
     SELECT u.mis_id, u.inserted, f.mis_id IS NOT NULL AS flags_changed
     FROM upserted u LEFT JOIN flagged f ON f.mis_id = u.mis_id`,
    [schoolId],
  );
  // Contacts: replaced for pupils whose record carried a contacts list.
  const latest = `SELECT DISTINCT ON (mis_id) mis_id, data FROM stage_pupils WHERE data ? 'contacts' ORDER BY mis_id, ${LAST_FIRST}`;
  // A field the import could not take (over its limit: left out of the record, its key absent) keeps
  // what was stored for the same person at the same priority — never a parent's phone number wiped
  // because the MIS's copy of it had a note typed after it. The same person: the same name, or, the
  // name itself not taken, the same phone.
  const kept = (field: string) =>
    `CASE WHEN c ? '${field}' THEN c->'${field}'
          WHEN (c ? 'name' AND g.name = c->>'name') OR (NOT c ? 'name' AND g.phone = c->>'phone')
          THEN to_jsonb(g.${field}) END`;
  await tx.query(
    `WITH gone AS (
       DELETE FROM pupil_contacts c USING (${latest}) w WHERE c.school_id = $1 AND c.pupil_mis_id = w.mis_id
       RETURNING c.pupil_mis_id, c.priority, c.name, c.relationship, c.phone, c.email, c.address
     )
     INSERT INTO pupil_contacts (school_id, pupil_mis_id, priority, name, relationship, phone, email, address,
                                 parental_responsibility)
     SELECT $1, w.mis_id, (c->>'priority')::int, (${kept('name')}) #>> '{}', (${kept('relationship')}) #>> '{}',
            (${kept('phone')}) #>> '{}', (${kept('email')}) #>> '{}', NULLIF(${kept('address')}, 'null'::jsonb),
            (c->>'parentalResponsibility')::boolean
     FROM (${latest}) w CROSS JOIN jsonb_array_elements(w.data->'contacts') AS c
     LEFT JOIN gone g ON g.pupil_mis_id = w.mis_id AND g.priority = (c->>'priority')::int`,
    [schoolId],
  );
  const inserted = rows.filter((r) => r.inserted).length;
  return {
    inserted,
    updated: rows.length - inserted,
    flagsChanged: rows.filter((r) => r.flags_changed).map((r) => r.mis_id),
  };
}

/**
 * Pupils this unit says are on roll (`onRoll`: a leaving-date column left empty, a list of current
 * students) whom the school had as leavers: back on roll — leaving date, destination and hidden
 * cleared, so retention never hides or erases a pupil who attends. Returns each with the leaving date
 * it had (for the audit), whether a person had confirmed it (`subject left --yes`), and where the
 * record that has them on roll is (`place`: its file and line, or an API's record; the last one when
 * the unit repeats the pupil, as `upsertPupils` takes).
 *
 * A date confirmed by hand is cleared too (its confirmation with it): the MIS saying the pupil is on
 * roll wins over it. A pupil wrongly kept off roll gets no visit triggers — a child missing education
 * nobody goes to see — where one wrongly put back on roll costs at most a visit that finds they left.
 * The caller reports each such pupil, naming the date, for the data manager to record the leaving in
 * the MIS if they did leave.
 */
export async function returnToRoll(
  tx: Queryable,
  schoolId: string,
): Promise<{ misId: string; leftOn: string; leftTo: string | null; confirmed: boolean; place: string }[]> {
  const { rows } = await tx.query<{
    mis_id: string;
    left_on: string;
    left_to: string | null;
    confirmed: boolean;
    place: string;
  }>(
    `WITH latest AS (
       SELECT DISTINCT ON (mis_id) mis_id, place, data FROM stage_pupils ORDER BY mis_id, ${LAST_FIRST}
     ),
     back AS (
       SELECT p.mis_id, p.left_on, p.left_to, p.left_on_confirmed, l.place
       FROM pupils p JOIN latest l ON l.mis_id = p.mis_id
       WHERE p.school_id = $1 AND p.left_on IS NOT NULL AND l.data->'onRoll' = 'true'::jsonb
     )
     UPDATE pupils p SET left_on = NULL, left_to = NULL, left_to_unknown = false, left_on_confirmed = false,
                         hidden_at = NULL, updated_at = now()
     FROM back WHERE p.school_id = $1 AND p.mis_id = back.mis_id
     RETURNING p.mis_id, to_char(back.left_on, 'YYYY-MM-DD') AS left_on, back.left_to,
               back.left_on_confirmed AS confirmed, back.place`,
    [schoolId],
  );
  return rows
    .map((r) => ({
      misId: r.mis_id,
      leftOn: r.left_on,
      leftTo: r.left_to,
      confirmed: r.confirmed,
      place: r.place,
    }))
    .sort((a, b) => a.misId.localeCompare(b.misId));
}

/**
 * The school's pupils among `misIds` as a leaving date is judged against: the leaving date they have
 * (or null), whether a person confirmed it (`subject left --yes`: the MIS does not replace it) and the
 * latest date they have a mark on (or null). Ids the school does not have are absent.
 */
export async function leaverStanding(
  tx: Queryable,
  schoolId: string,
  misIds: readonly string[],
): Promise<Map<string, { leftOn: string | null; confirmed: boolean; latestMark: string | null }>> {
  if (misIds.length === 0) return new Map();
  const { rows } = await tx.query<{
    mis_id: string;
    left_on: string | null;
    confirmed: boolean;
    latest: string | null;
  }>(
    `SELECT p.mis_id, to_char(p.left_on, 'YYYY-MM-DD') AS left_on, p.left_on_confirmed AS confirmed,
            (SELECT to_char(max(m.date), 'YYYY-MM-DD') FROM attendance_marks m
              WHERE m.school_id = p.school_id AND m.pupil_mis_id = p.mis_id AND m.category = ANY($3::text[])) AS latest
     FROM pupils p WHERE p.school_id = $1 AND p.mis_id = ANY($2::text[])`,
    [schoolId, [...new Set(misIds)], [...ATTENDED_CATEGORIES]],
  );
  return new Map(
    rows.map((r) => [r.mis_id, { leftOn: r.left_on, confirmed: r.confirmed, latestMark: r.latest }]),
  );
}

/**
 * Marks pupils off-roll: `left_on` is set (an earlier leaving date is kept, unless the leaver
 * `replaces` it: a stored date found doubtful, which the MIS's correction wins over) with the
 * destination when the MIS gives one (a destination given later for the same leaving is added); the
 * pupil, their marks and history stay — retention hides and later erases leavers on the school's
 * schedule. Returns the pupils newly marked (or given a destination); ids the school does not have
 * are returned as unknown.
 *
 * `left_to_unknown` is set only where the MIS says in so many words that nobody knows where the
 * pupil went (`noDestination: 'unknown'`, clearing a destination it named before): a child missing
 * education by the roll. A destination named (or one too long to keep, `too-long`) clears it; a
 * leaver the MIS gives no destination for at all (Arbor's and Wonde's, an export without the
 * column or with the cell empty) leaves the same leaving's as it was, and starts a new one with
 * neither — no destination given is never read as none known.
 *
 * A date a person confirmed (`subject left --yes`, `left_on_confirmed`) is never replaced by a
 * different one, `replaces` or not: a human's explicit word wins over the MIS until a human changes it
 * (the caller reports the disagreement). The MIS sending that same date ends the disagreement: the
 * confirmation is cleared, and later dates from the MIS are judged as any other.
 */
export async function markLeavers(
  tx: Queryable,
  schoolId: string,
  leavers: readonly {
    misId: string;
    leftOn: string;
    destination?: string | null;
    /** Why no destination though the MIS said something of it; absent: it gave none. */
    noDestination?: 'unknown' | 'too-long' | undefined;
    replaces?: boolean;
  }[],
): Promise<{ marked: string[]; unknown: string[] }> {
  if (leavers.length === 0) return { marked: [], unknown: [] };
  const params = [
    schoolId,
    leavers.map((l) => l.misId),
    leavers.map((l) => l.leftOn),
    leavers.map((l) => l.destination ?? null),
    leavers.map((l) => l.replaces ?? false),
    leavers.map((l) => (l.destination ? null : (l.noDestination ?? null))),
  ];
  // Of one pupil's leavers, the earliest date, and of those one naming a destination, else one
  // saying something of it.
  const leaving = `SELECT DISTINCT ON (mis_id) mis_id, left_on, left_to, replaces, said
                FROM unnest($2::text[], $3::date[], $4::text[], $5::bool[], $6::text[]) AS u(mis_id, left_on, left_to, replaces, said)
                ORDER BY mis_id, left_on, left_to IS NULL, said IS NULL`;
  const { rows } = await tx.query<{ mis_id: string; marked: boolean }>(
    `WITH l AS (${leaving}),
          up AS (UPDATE pupils p SET left_on = l.left_on,
                                     left_to = CASE WHEN l.left_to IS NOT NULL THEN l.left_to
                                                    WHEN l.said = 'unknown' THEN NULL
                                                    WHEN p.left_on = l.left_on THEN p.left_to END,
                                     left_to_unknown = CASE WHEN l.left_to IS NOT NULL OR l.said IS NOT NULL THEN l.said IS NOT DISTINCT FROM 'unknown'
                                                            ELSE p.left_on IS NOT DISTINCT FROM l.left_on AND p.left_to_unknown END,
                                     updated_at = now() FROM l
                 WHERE p.school_id = $1 AND p.mis_id = l.mis_id
                   AND NOT (p.left_on_confirmed AND p.left_on <> l.left_on)
                   AND (p.left_on IS NULL OR p.left_on > l.left_on OR (l.replaces AND p.left_on <> l.left_on)
                        OR (p.left_on = l.left_on AND l.left_to IS NOT NULL AND p.left_to IS DISTINCT FROM l.left_to)
                        OR (p.left_on = l.left_on AND l.said IS NOT NULL
                            AND (l.said = 'unknown') <> (p.left_to_unknown AND p.left_to IS NULL)))
                 RETURNING p.mis_id)
     SELECT l.mis_id, EXISTS (SELECT 1 FROM up WHERE up.mis_id = l.mis_id) AS marked
     FROM l WHERE NOT EXISTS (SELECT 1 FROM pupils p WHERE p.school_id = $1 AND p.mis_id = l.mis_id)
        OR EXISTS (SELECT 1 FROM up WHERE up.mis_id = l.mis_id)`,
    params,
  );
  // The MIS now has the date a person confirmed: agreed, the confirmation has done its work.
  await tx.query(
    `WITH l AS (${leaving})
     UPDATE pupils p SET left_on_confirmed = false FROM l
     WHERE p.school_id = $1 AND p.mis_id = l.mis_id AND p.left_on_confirmed AND p.left_on = l.left_on`,
    params,
  );
  return {
    marked: rows.filter((r) => r.marked).map((r) => r.mis_id),
    unknown: rows.filter((r) => !r.marked).map((r) => r.mis_id),
  };
}

/** Removes staged marks whose pupil the school does not have; returns them for the summary. */
export async function takeUnknownPupilMarks(tx: Queryable, schoolId: string) {
  const { rows } = await tx.query<{
    line: number | null;
    record: number | null;
    pupil_mis_id: string;
    date: string;
    session: 'AM' | 'PM';
    code: string;
    local_code: string | null;
    minutes_late: number | null;
  }>(
    `DELETE FROM stage_marks s WHERE NOT EXISTS (
       SELECT 1 FROM pupils p WHERE p.school_id = $1 AND p.mis_id = s.pupil_mis_id)
     RETURNING line, record, pupil_mis_id, to_char(date, 'YYYY-MM-DD') AS date, session, code, local_code, minutes_late`,
    [schoolId],
  );
  return rows.sort(
    (a, b) => (a.line ?? a.record ?? 0) - (b.line ?? b.record ?? 0) || (a.record ?? 0) - (b.record ?? 0),
  );
}

/** What one `applyMarks` statement did. */
export interface AppliedMarks {
  inserted: number;
  updated: number;
  /** Marks whose code changed (each with an audit entry naming the old and new code). */
  corrected: number;
  /** MIS ids of the pupils whose marks changed. */
  changedPupils: string[];
}

/**
 * Applies marks to the school's marks (a month per row: `attendance_months`), in the caller's
 * transaction: a mark for a session the school has not got is added; one whose code, local code or
 * minutes late differ is replaced, and when its code (or local code) changes an audit entry keeps
 * both (a correction); an equal one is left alone. Marks for pupils the school does not have are
 * skipped (the caller reports them from the staging table).
 *
 * The group's stored months are read (what tells a change, unlocked) and merged here; the months
 * that change are read whole under a lock (`FOR UPDATE`, in key order) and merged again; then every
 * changed month is written back whole — a new one inserted, a stored one updated — with the
 * corrections' audit entries, in one statement. The caller applies one group at a time (the next
 * group's months are read after this one's are written).
 *
 * Two sources:
 * - `{ group }`: marks just read, as columns. Those whose pupil the school does not have are staged
 *   (`stage_marks`, with their group number) in the same statement — to be reported, or applied
 *   when the unit's pupils come after them. The caller guarantees the group repeats no session of
 *   the unit — neither within itself nor with an earlier group (`UnitKeys`) — and that a unit that
 *   repeats a session after a group was applied this way is read again with every mark staged (its
 *   conflicts need every line).
 * - `{ stagedGroup }`: a group staged earlier (`indexStagedGroups` first); with `dedupe`, a session
 *   the group repeats takes its last line's mark (the caller has refused the unit if any repeats
 *   differ, so a repeat in another group finds its mark already equal and changes nothing).
 *
 * A month new here that another transaction inserted meanwhile is not overwritten (`ON CONFLICT DO
 * NOTHING`, which waits for that transaction): its marks are applied again, over the month as it is.
 */
export async function applyMarks(
  tx: Queryable,
  schoolId: string,
  importId: string,
  actor: string,
  source: { group: MarkColumns; groupNo: number } | { stagedGroup: number; dedupe: boolean },
): Promise<AppliedMarks> {
  const c = 'group' in source ? source.group : await stagedGroupMarks(tx, source.stagedGroup, source.dedupe);
  if (c.length === 0) return { inserted: 0, updated: 0, corrected: 0, changedPupils: [] };
  const [known, stored] = await Promise.all([
    tx.query<{ mis_id: string }>(
      'SELECT mis_id FROM pupils WHERE school_id = $1 AND mis_id = ANY($2::text[])',
      [schoolId, textArray([...new Set(c.pupilMisId)])],
    ),
    readMonths(tx, schoolId, monthKeys(c), 'compare'),
  ]);
  const knownPupils = new Set(known.rows.map((r) => r.mis_id));
  let merged = mergeMarks(c, knownPupils, stored, importId);
  const unknown = 'group' in source ? merged.unknown : new MarkColumns();
  if (merged.months.length === 0 && unknown.length === 0) {
    return { inserted: 0, updated: 0, corrected: 0, changedPupils: [] };
  }
  // Only the stored months that change are locked (in key order: two imports sending the same
  // unchanged marks never wait on each other, and two changing the same pupils lock them in one
  // order), read whole under the lock and merged again — over what another transaction wrote
  // meanwhile, if it did. (A month new here that another adds meanwhile is found by the insert.)
  // The months new here stand as merged: only the locked ones are merged again, from their marks.
  const changedStored = merged.months.filter((m) => m.existing);
  if (changedStored.length > 0) {
    const locked = await readMonths(tx, schoolId, changedStored, 'lock');
    const again = mergeMarks(marksOfMonths(c, changedStored), knownPupils, locked, importId);
    merged = mergedOf([...merged.months.filter((m) => !m.existing), ...again.months], merged.unknown);
  }
  const months = (rows: readonly MergedMonth[]) => [
    textArray(rows.map((m) => m.pupil)),
    textArray(rows.map((m) => m.month)),
    textArray(rows.map((m) => textArray(m.codes))),
    textArray(rows.map((m) => textArray(m.categories))),
    textArray(rows.map((m) => textArray(m.localCodes))),
    textArray(rows.map((m) => intArray(m.minutesLate))),
    textArray(rows.map((m) => textArray(m.importIds))),
  ];
  const added = merged.months.filter((m) => !m.existing);
  const MONTH = 'AS u(p, m, codes, categories, local_codes, minutes_late, import_ids)';
  const { rows: inserted } = await tx.query<{ pupil_mis_id: string; month: string }>(
    `WITH staged AS (
       INSERT INTO stage_marks (grp, ${MARK_VALUES})
       SELECT $3, * FROM unnest($4::int[], $5::int[], $6::text[], $7::date[], $8::text[], $9::text[], $10::text[],
                                $11::text[], $12::int[])
     ),
     audit AS (
       INSERT INTO audit_log (actor, action, school_id, entity_type, entity_id, before, after)
       SELECT $2, 'attendance.mark.corrected', $1, 'attendance_mark', e, b::jsonb, a::jsonb
       FROM unnest($13::text[], $14::text[], $15::text[]) AS u(e, b, a)
     ),
     upd AS (
       UPDATE attendance_months am SET
         codes = u.codes::text[], categories = u.categories::text[], local_codes = u.local_codes::text[],
         minutes_late = u.minutes_late::int[], import_ids = u.import_ids::bigint[], updated_at = now()
       FROM unnest($23::text[], $24::text[], $25::text[], $26::text[], $27::text[], $28::text[], $29::text[]) ${MONTH}
       WHERE am.school_id = $1 AND am.pupil_mis_id = u.p AND am.month = u.m::date
     )
     INSERT INTO attendance_months (school_id, pupil_mis_id, month, codes, categories, local_codes, minutes_late,
                                    import_ids)
     SELECT $1, p, m::date, codes::text[], categories::text[], local_codes::text[], minutes_late::int[],
            import_ids::bigint[]
     FROM unnest($16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[]) ${MONTH}
     ON CONFLICT (school_id, pupil_mis_id, month) DO NOTHING
     RETURNING pupil_mis_id, to_char(month, 'YYYY-MM-DD') AS month`,
    [
      schoolId,
      actor,
      'group' in source ? source.groupNo : 0,
      ...markArrays(unknown),
      textArray(merged.audit.map((a) => a.entity)),
      textArray(merged.audit.map((a) => a.before)),
      textArray(merged.audit.map((a) => a.after)),
      ...months(added),
      ...months(merged.months.filter((m) => m.existing)),
    ],
  );
  const result = {
    inserted: merged.inserted,
    updated: merged.updated,
    corrected: merged.audit.length,
    changedPupils: merged.changedPupils,
  };
  if (inserted.length === added.length) return result;
  // Another transaction added one of these months after it was read (it waited for that one to
  // commit): its marks are applied again over the month as it now is.
  const got = new Set(inserted.map((r) => `${r.pupil_mis_id}\u0000${r.month}`));
  const lost = added.filter((m) => !got.has(`${m.pupil}\u0000${m.month}`));
  const again = await applyMarks(tx, schoolId, importId, actor, {
    group: marksOfMonths(c, lost),
    groupNo: 'group' in source ? source.groupNo : 0,
  });
  return {
    inserted: result.inserted - lost.reduce((n, m) => n + m.inserted, 0) + again.inserted,
    updated: result.updated + again.updated,
    corrected: result.corrected + again.corrected,
    changedPupils: [...new Set([...result.changedPupils, ...again.changedPupils])].sort(),
  };
}

/** The distinct pupil × month pairs of a group's marks. */
function monthKeys(c: MarkColumns): { pupil: string; month: string }[] {
  const keys = new Map<string, { pupil: string; month: string }>();
  for (let i = 0; i < c.length; i++) {
    const pupil = c.pupilMisId[i]!;
    // A file gives a pupil's marks in runs: most marks are in the month of the mark before.
    if (i > 0 && pupil === c.pupilMisId[i - 1] && sameMonth(c.date[i]!, c.date[i - 1]!)) continue;
    const month = monthOf(c.date[i]!);
    keys.set(`${pupil}\u0000${month}`, { pupil, month });
  }
  return [...keys.values()];
}

/** Whether two ISO dates are in one month (no string made: this runs for every mark). */
function sameMonth(a: string, b: string): boolean {
  for (let k = 0; k < 7; k++) if (a.charCodeAt(k) !== b.charCodeAt(k)) return false;
  return true;
}

/** The marks of a group that fall in these months. */
function marksOfMonths(c: MarkColumns, months: readonly { pupil: string; month: string }[]): MarkColumns {
  const wanted = new Set(months.map((m) => `${m.pupil}\u0000${m.month}`));
  const out = new MarkColumns();
  let want = false;
  for (let i = 0; i < c.length; i++) {
    if (!(i > 0 && c.pupilMisId[i] === c.pupilMisId[i - 1] && sameMonth(c.date[i]!, c.date[i - 1]!)))
      want = wanted.has(`${c.pupilMisId[i]}\u0000${monthOf(c.date[i]!)}`);
    if (want) out.pushFrom(c, i);
  }
  return out;
}

/**
 * The stored months of these pupil × month pairs. `compare`: what tells a mark changed (code, local
 * code, minutes late), read as JSON text — no lock, and little for the driver to build when a whole
 * file comes again unchanged; `lock`: every column, locked for update in key order.
 */
async function readMonths(
  tx: Queryable,
  schoolId: string,
  keys: readonly { pupil: string; month: string }[],
  mode: 'compare' | 'lock',
): Promise<StoredMonth[]> {
  const params = [schoolId, textArray(keys.map((k) => k.pupil)), textArray(keys.map((k) => k.month))];
  const where = `school_id = $1 AND (pupil_mis_id, month) IN (SELECT * FROM unnest($2::text[], $3::date[]))`;
  if (mode === 'lock') {
    const { rows } = await tx.query<StoredMonth>(
      `SELECT pupil_mis_id, to_char(month, 'YYYY-MM-DD') AS month, codes, categories, local_codes, minutes_late,
              import_ids::text[] AS import_ids
       FROM attendance_months WHERE ${where} ORDER BY pupil_mis_id, month FOR UPDATE`,
      params,
    );
    return rows;
  }
  const { rows } = await tx.query<{ pupil_mis_id: string; month: string; marks: string }>(
    `SELECT pupil_mis_id, to_char(month, 'YYYY-MM-DD') AS month,
            json_build_array(codes, local_codes, minutes_late)::text AS marks
     FROM attendance_months WHERE ${where}`,
    params,
  );
  return rows.map((r) => {
    const [codes, localCodes, minutesLate] = JSON.parse(r.marks) as [
      (string | null)[],
      (string | null)[],
      (number | null)[],
    ];
    return {
      pupil_mis_id: r.pupil_mis_id,
      month: r.month,
      codes,
      local_codes: localCodes,
      minutes_late: minutesLate,
      // Not read to compare: a month that changes is read whole under the lock and merged again.
      categories: emptySlots(),
      import_ids: emptySlots(),
    };
  });
}

interface StoredMonth {
  pupil_mis_id: string;
  month: string;
  codes: (string | null)[];
  categories: (string | null)[];
  local_codes: (string | null)[];
  minutes_late: (number | null)[];
  import_ids: (string | null)[];
}

/** A month of one pupil's marks as it will be written back. */
interface MergedMonth {
  pupil: string;
  month: string;
  existing: boolean;
  /** Marks new to the month (all of them for a month not stored yet). */
  inserted: number;
  /** Stored marks this group replaces with a different one. */
  updated: number;
  /** The replaced marks whose code changed: an audit entry each. */
  audit: MarkCorrection[];
  codes: (string | null)[];
  categories: (string | null)[];
  localCodes: (string | null)[];
  minutesLate: (number | null)[];
  importIds: (string | null)[];
}

interface MarkCorrection {
  entity: string;
  before: string;
  after: string;
}

interface Merged {
  months: MergedMonth[];
  inserted: number;
  updated: number;
  audit: MarkCorrection[];
  changedPupils: string[];
  unknown: MarkColumns;
}

/** The totals of these changed months (and the marks whose pupil the school does not have). */
function mergedOf(months: MergedMonth[], unknown: MarkColumns): Merged {
  let inserted = 0;
  let updated = 0;
  const audit: MarkCorrection[] = [];
  const pupils = new Set<string>();
  for (const m of months) {
    inserted += m.inserted;
    updated += m.updated;
    for (const a of m.audit) audit.push(a);
    pupils.add(m.pupil);
  }
  return { months, inserted, updated, audit, changedPupils: [...pupils].sort(), unknown };
}

/**
 * The group's marks laid over the months stored: which are new, which replace a different mark
 * (with an audit entry when the code changes), the months that changed, and the marks whose pupil
 * the school does not have. Pure.
 */
export function mergeMarks(
  c: MarkColumns,
  knownPupils: ReadonlySet<string>,
  stored: readonly StoredMonth[],
  importId: string,
): Merged {
  const all = new Map<string, MergedMonth>();
  for (const r of stored) {
    all.set(`${r.pupil_mis_id}\u0000${r.month}`, {
      pupil: r.pupil_mis_id,
      month: r.month,
      existing: true,
      inserted: 0,
      updated: 0,
      audit: [],
      codes: r.codes,
      categories: r.categories,
      localCodes: r.local_codes,
      minutesLate: r.minutes_late,
      importIds: r.import_ids,
    });
  }
  const changed = new Set<MergedMonth>();
  const unknown = new MarkColumns();
  // The month of the mark before (a file gives a pupil's marks in runs): looked up only on a change.
  let m: MergedMonth | undefined;
  let mPupil = '';
  let mDate = '';
  for (let i = 0; i < c.length; i++) {
    const pupil = c.pupilMisId[i]!;
    if (!knownPupils.has(pupil)) {
      unknown.pushFrom(c, i);
      continue;
    }
    const date = c.date[i]!;
    const session = c.session[i]!;
    if (m === undefined || pupil !== mPupil || !sameMonth(date, mDate)) {
      const month = monthOf(date);
      const key = `${pupil}\u0000${month}`;
      m = all.get(key);
      if (m === undefined) {
        m = {
          pupil,
          month,
          existing: false,
          inserted: 0,
          updated: 0,
          audit: [],
          codes: emptySlots(),
          categories: emptySlots(),
          localCodes: emptySlots(),
          minutesLate: emptySlots(),
          importIds: emptySlots(),
        };
        all.set(key, m);
      }
      mPupil = pupil;
      mDate = date;
    }
    const s = slotOf(date, session);
    const code = c.code[i]!;
    const localCode = c.localCode[i] ?? null;
    const minutesLate = c.minutesLate[i] ?? null;
    const oldCode = m.codes[s] ?? null;
    if (oldCode === null) {
      m.inserted++;
    } else {
      const oldLocal = m.localCodes[s] ?? null;
      if (oldCode === code && oldLocal === localCode && (m.minutesLate[s] ?? null) === minutesLate) continue;
      m.updated++;
      if (oldCode !== code || oldLocal !== localCode) {
        const old = m.importIds[s];
        m.audit.push({
          entity: `${pupil}/${date}/${session}`,
          before: JSON.stringify({
            code: oldCode,
            localCode: oldLocal,
            importId: old == null ? null : Number(old),
          }),
          after: JSON.stringify({ code, localCode, importId: Number(importId) }),
        });
      }
    }
    m.codes[s] = code;
    m.categories[s] = c.category[i]!;
    m.localCodes[s] = localCode;
    m.minutesLate[s] = minutesLate;
    m.importIds[s] = importId;
    changed.add(m);
  }
  return mergedOf([...changed], unknown);
}

function emptySlots<T>(): (T | null)[] {
  return new Array<T | null>(SLOTS_PER_MONTH).fill(null);
}

/** A group staged earlier, as columns; with `dedupe`, a session it repeats takes its last line's mark. */
async function stagedGroupMarks(tx: Queryable, group: number, dedupe: boolean): Promise<MarkColumns> {
  const { rows } = await tx.query<{
    line: number | null;
    record: number | null;
    pupil_mis_id: string;
    date: string;
    session: string;
    code: string;
    category: string;
    local_code: string | null;
    minutes_late: number | null;
  }>(
    dedupe
      ? `SELECT DISTINCT ON (pupil_mis_id, date, session) line, record, pupil_mis_id, to_char(date, 'YYYY-MM-DD') AS date,
                session, code, category, local_code, minutes_late
         FROM stage_marks WHERE grp = $1 ORDER BY pupil_mis_id, date, session, ${LAST_FIRST}`
      : `SELECT line, record, pupil_mis_id, to_char(date, 'YYYY-MM-DD') AS date, session, code, category, local_code,
                minutes_late
         FROM stage_marks WHERE grp = $1`,
    [group],
  );
  const c = new MarkColumns();
  for (const r of rows)
    c.push(
      r.line,
      r.record,
      r.pupil_mis_id,
      r.date,
      r.session,
      r.code,
      r.category,
      r.local_code,
      r.minutes_late,
    );
  return c;
}

/** Indexes the staged marks by group, before groups staged earlier are applied one by one. */
export async function indexStagedGroups(tx: Queryable): Promise<void> {
  await tx.query('CREATE INDEX IF NOT EXISTS stage_marks_grp ON stage_marks (grp)');
}

/** How many marks are staged; with `distinctKeys`, how many pupil × date × session keys. */
export async function stagedMarkCount(tx: Queryable, distinctKeys: boolean): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    distinctKeys
      ? 'SELECT count(*)::int AS n FROM (SELECT DISTINCT pupil_mis_id, date, session FROM stage_marks) k'
      : 'SELECT count(*)::int AS n FROM stage_marks',
  );
  return rows[0]!.n;
}
