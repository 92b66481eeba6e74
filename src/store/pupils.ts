import type { Queryable } from './db.ts';
import type { Address } from './visits.ts';

/** `%`, `_` and `\` matched as themselves in a LIKE/ILIKE pattern (PostgreSQL's default escape is `\`). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface PupilMatch {
  mis_id: string;
  forename: string | null;
  surname: string | null;
  year_group: string | null;
  address: unknown;
  /** Who the family's adults are, for the request form: no phone or e-mail (the visit page has them). */
  contacts: { name: string | null; relationship: string | null; parentalResponsibility: boolean | null }[];
}

/**
 * The pupil picker's search within one school: an exact MIS id or UPN, or `q` anywhere in
 * "forename surname" (case-insensitive, `q` taken literally: its wildcards are escaped). At most
 * `limit` pupils, by surname.
 */
export async function searchPupils(
  db: Queryable,
  schoolId: string,
  q: string,
  limit = 20,
): Promise<PupilMatch[]> {
  const { rows } = await db.query<PupilMatch>(
    // Contacts holding parental responsibility first (Heath Lane: "only speak with adults that have
    // parental responsibility"), then by the MIS's priority.
    `SELECT mis_id, forename, surname, year_group, address,
            COALESCE((SELECT jsonb_agg(jsonb_build_object('name', c.name, 'relationship', c.relationship,
                                                          'parentalResponsibility', c.parental_responsibility)
                                       ORDER BY c.parental_responsibility IS TRUE DESC, c.priority)
                      FROM pupil_contacts c WHERE c.school_id = pupils.school_id AND c.pupil_mis_id = pupils.mis_id),
                     '[]'::jsonb) AS contacts
     FROM pupils
     WHERE school_id = $1 AND hidden_at IS NULL -- a leaver past the school's shown period (retention)
       AND (mis_id = $2 OR upn = $2 OR (forename || ' ' || surname) ILIKE '%' || $3 || '%')
     ORDER BY surname, forename LIMIT $4`,
    [schoolId, q, escapeLike(q), limit],
  );
  return rows;
}

/** Whether the school has a pupil with this MIS id. */
export async function pupilExists(db: Queryable, schoolId: string, misId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM pupils WHERE school_id = $1 AND mis_id = $2', [
    schoolId,
    misId,
  ]);
  return (rowCount ?? 0) > 0;
}

/** The pupil's home address as the MIS gave it (undefined: no such pupil at the school). */
export async function pupilHomeAddress(
  db: Queryable,
  schoolId: string,
  misId: string,
): Promise<{ address: Address | null } | undefined> {
  const { rows } = await db.query<{ address: Address | null }>(
    'SELECT address FROM pupils WHERE school_id = $1 AND mis_id = $2',
    [schoolId, misId],
  );
  return rows[0];
}

/**
 * The pupil's leaving as the MIS gave it: the date they leave (or left) the roll and where to (null
 * when none is stored; a blank one is none), and whether the MIS said that nobody knows where
 * (`destinationUnknown`: only where it said so in so many words and names none since). A null
 * destination alone is no such word: the source may read none (Arbor, Wonde), the export may have no
 * Destination column or leave it empty, or the one given was too long to keep. Null: on roll, or no
 * such pupil.
 */
export async function pupilLeaving(
  db: Queryable,
  schoolId: string,
  misId: string,
): Promise<{ leftOn: string; leftTo: string | null; destinationUnknown: boolean } | null> {
  const { rows } = await db.query<{ left_on: string; left_to: string | null; unknown: boolean }>(
    `SELECT to_char(left_on, 'YYYY-MM-DD') AS left_on, NULLIF(btrim(left_to), '') AS left_to,
            left_to_unknown AND NULLIF(btrim(left_to), '') IS NULL AS unknown
     FROM pupils WHERE school_id = $1 AND mis_id = $2 AND left_on IS NOT NULL`,
    [schoolId, misId],
  );
  const r = rows[0];
  return r ? { leftOn: r.left_on, leftTo: r.left_to, destinationUnknown: r.unknown } : null;
}

/** UPN and names, for a record about the pupil (undefined: no such pupil at the school). */
export async function pupilIdentity(db: Queryable, schoolId: string, misId: string) {
  const { rows } = await db.query<{
    upn: string | null;
    forename: string | null;
    surname: string | null;
  }>('SELECT upn, forename, surname FROM pupils WHERE school_id = $1 AND mis_id = $2', [schoolId, misId]);
  return rows[0];
}

/**
 * A pupil as a safeguarding record names them: MIS id, UPN and full name (null where the MIS has
 * none, or the pupil is not known).
 */
export async function pupilForRecord(
  db: Queryable,
  schoolId: string,
  misId: string,
): Promise<{ misId: string; upn: string | null; name: string | null }> {
  const p = await pupilIdentity(db, schoolId, misId);
  return {
    misId,
    upn: p?.upn ?? null,
    name: p ? [p.forename, p.surname].filter(Boolean).join(' ') || null : null,
  };
}

/** The names of these pupils of a school (the visit list). */
export async function pupilNames(db: Queryable, schoolId: string, misIds: readonly string[]) {
  const { rows } = await db.query<{ mis_id: string; forename: string; surname: string }>(
    'SELECT mis_id, forename, surname FROM pupils WHERE school_id = $1 AND mis_id = ANY($2::text[])',
    [schoolId, [...misIds]],
  );
  return rows;
}

/**
 * The pupil as a visit page shows them: MIS id, UPN, names, year group, the MIS's flags and, apart,
 * the flags set by hand in Doorstep (undefined: no such pupil).
 */
export async function pupilSummary(db: Queryable, schoolId: string, misId: string) {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT mis_id, upn, forename, surname, year_group, flags, manual_flags AS "manualFlags"
     FROM pupils WHERE school_id = $1 AND mis_id = $2`,
    [schoolId, misId],
  );
  return rows[0];
}

/**
 * The pupil's contacts (name, relationship, phone, parental responsibility): those the MIS says hold
 * parental responsibility first (some policies allow speaking only with them), then by priority.
 */
export async function pupilContacts(db: Queryable, schoolId: string, misId: string) {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT name, relationship, phone, parental_responsibility AS "parentalResponsibility" FROM pupil_contacts
     WHERE school_id = $1 AND pupil_mis_id = $2 ORDER BY parental_responsibility IS TRUE DESC, priority`,
    [schoolId, misId],
  );
  return rows;
}

/** A flag the safeguarding team set by hand: why, by whom, when. */
export interface ManualFlag {
  reason: string;
  by: string;
  at: string;
}

/** The flags a person may set by hand (the MIS's own flags stay the MIS's). */
export const MANUAL_FLAGS = ['welfareConcern'] as const;
export type ManualFlagName = (typeof MANUAL_FLAGS)[number];

/**
 * Sets (`value`) or clears (null) a hand-set flag on a pupil, locking the row; returns what it was
 * before (null: not set), or undefined when the school has no such pupil.
 */
export async function setManualFlag(
  tx: Queryable,
  schoolId: string,
  misId: string,
  flag: ManualFlagName,
  value: ManualFlag | null,
): Promise<{ before: ManualFlag | null } | undefined> {
  const { rows } = await tx.query<{ before: ManualFlag | null }>(
    `WITH old AS (SELECT manual_flags -> $3::text AS before FROM pupils WHERE school_id = $1 AND mis_id = $2 FOR UPDATE)
     UPDATE pupils SET manual_flags = CASE WHEN $4::jsonb IS NULL THEN manual_flags - $3::text
                                           ELSE jsonb_set(manual_flags, ARRAY[$3::text], $4::jsonb) END
     FROM old WHERE school_id = $1 AND mis_id = $2 RETURNING old.before`,
    [schoolId, misId, flag, value === null ? null : JSON.stringify(value)],
  );
  return rows[0] ? { before: rows[0].before ?? null } : undefined;
}
