import type { Queryable } from './db.ts';

/** A school's MIS sync as the data page shows it. */
export interface SyncStatus {
  lastOkAt: string | null;
  /** Since when every sync has failed (null: the last one worked, or none has run). */
  failingSince: string | null;
  /** Syncs failed since then. */
  failures: number;
  lastError: string | null;
}

/** A sync of the school finished: it works again, whatever failed before. */
export async function noteSyncWorked(db: Queryable, schoolId: string, at: Date): Promise<void> {
  await db.query(
    `INSERT INTO sync_status (school_id, last_ok_at) VALUES ($1, $2)
     ON CONFLICT (school_id) DO UPDATE SET last_ok_at = $2, failing_since = NULL, failures = 0, last_error = NULL`,
    [schoolId, at],
  );
}

/** A sync of the school failed (`reason`: Doorstep's error text, ids and places only). */
export async function noteSyncFailed(
  db: Queryable,
  schoolId: string,
  at: Date,
  reason: string,
): Promise<void> {
  await db.query(
    `INSERT INTO sync_status (school_id, failing_since, failures, last_failed_at, last_error) VALUES ($1, $2, 1, $2, $3)
     ON CONFLICT (school_id) DO UPDATE SET failing_since = coalesce(sync_status.failing_since, $2),
       failures = sync_status.failures + 1, last_failed_at = $2, last_error = $3`,
    [schoolId, at, reason],
  );
}

export async function syncStatus(db: Queryable, schoolId: string): Promise<SyncStatus> {
  const { rows } = await db.query<{
    last_ok_at: Date | null;
    failing_since: Date | null;
    failures: number;
    last_error: string | null;
  }>('SELECT last_ok_at, failing_since, failures, last_error FROM sync_status WHERE school_id = $1', [
    schoolId,
  ]);
  const r = rows[0];
  const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);
  return {
    lastOkAt: iso(r?.last_ok_at),
    failingSince: iso(r?.failing_since),
    failures: r?.failures ?? 0,
    lastError: r?.last_error ?? null,
  };
}
