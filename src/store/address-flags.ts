import type { Queryable } from './db.ts';
import type { Address } from './visits.ts';

export function normalisePostcode(p: string | null | undefined): string {
  return (p ?? '').toUpperCase().replace(/\s+/g, '');
}

/** Flags recorded against the visit's address (the whole postcode, or its first line). */
export async function addressFlagsFor(db: Queryable, schoolId: string, address: Address) {
  const { rows } = await db.query<{
    id: string;
    level: string;
    note: string;
    created_by: string;
    created_at: Date;
  }>(
    `SELECT id, level, note, created_by, created_at FROM address_flags
     WHERE school_id = $1 AND postcode = $2 AND (line1 IS NULL OR lower(line1) = lower($3))
     ORDER BY created_at`,
    [schoolId, normalisePostcode(address.postcode), address.line1 ?? ''],
  );
  return rows.map((r) => ({
    id: String(r.id),
    level: r.level,
    note: r.note,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
  }));
}

/** A flag recorded against a postcode (or a postcode and first line); returns its id. */
export async function insertAddressFlag(
  tx: Queryable,
  f: {
    schoolId: string;
    postcode: string;
    line1: string | null;
    level: string;
    note: string;
    createdBy: string;
    /** When it was recorded, on the clock the visits' risk assessments are stamped by (a flag after one is a new risk). */
    createdAt: Date;
  },
): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO address_flags (school_id, postcode, line1, level, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [f.schoolId, normalisePostcode(f.postcode), f.line1, f.level, f.note, f.createdBy, f.createdAt],
  );
  return String(rows[0]!.id);
}

/** Deletes a flag; returns what it said (undefined: no such flag). */
export async function deleteAddressFlag(tx: Queryable, flagId: string) {
  const { rows } = await tx.query<{ school_id: string; level: string; note: string; created_by: string }>(
    'DELETE FROM address_flags WHERE id = $1 RETURNING school_id, level, note, created_by',
    [flagId],
  );
  return rows[0];
}

/** The pupils of a school whose home address the flag covers (the whole postcode, or its first line too). */
export async function pupilsAtFlaggedAddress(
  db: Queryable,
  schoolId: string,
  postcode: string,
  line1: string | null,
): Promise<string[]> {
  const { rows } = await db.query<{ mis_id: string }>(
    `SELECT mis_id FROM pupils
     WHERE school_id = $1 AND upper(regexp_replace(coalesce(address->>'postcode', ''), '\\s+', '', 'g')) = $2
       AND ($3::text IS NULL OR lower(address->>'line1') = lower($3))
     ORDER BY mis_id`,
    [schoolId, normalisePostcode(postcode), line1],
  );
  return rows.map((r) => r.mis_id);
}
