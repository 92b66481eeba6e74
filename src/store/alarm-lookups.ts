import type { Queryable } from './db.ts';

/** The school an alarm belongs to, or undefined for no such alarm. */
export async function alarmSchoolId(db: Queryable, alarmId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ school_id: string }>('SELECT school_id FROM alarms WHERE id = $1', [
    alarmId,
  ]);
  return rows[0]?.school_id;
}

export interface UnresolvedAlarm {
  id: string;
  school_id: string;
  type: string;
  device_id: string;
  staff_id: string | null;
  status: string;
  raised_at: Date;
  /** A TEST alarm (a fob drill). */
  test: boolean;
}

/** Alarms not yet resolved (one school's, or every school's), oldest first. */
export async function unresolvedAlarms(db: Queryable, schoolId?: string): Promise<UnresolvedAlarm[]> {
  const { rows } = await db.query<UnresolvedAlarm>(
    `SELECT id, school_id, type, device_id, staff_id, status, raised_at, test FROM alarms WHERE status <> 'resolved'
     ${schoolId ? 'AND school_id = $1' : ''} ORDER BY raised_at`,
    schoolId ? [schoolId] : [],
  );
  return rows;
}

/** A TEST alarm (a fob drill) of this device that is not resolved yet, if any. */
export async function openTestAlarmOf(
  db: Queryable,
  schoolId: string,
  deviceId: string,
): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM alarms WHERE school_id = $1 AND device_id = $2 AND test AND status <> 'resolved' ORDER BY id LIMIT 1`,
    [schoolId, deviceId],
  );
  return rows[0] ? String(rows[0].id) : null;
}
