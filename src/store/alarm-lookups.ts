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
}

/** Alarms not yet resolved (one school's, or every school's), oldest first. */
export async function unresolvedAlarms(db: Queryable, schoolId?: string): Promise<UnresolvedAlarm[]> {
  const { rows } = await db.query<UnresolvedAlarm>(
    `SELECT id, school_id, type, device_id, staff_id, status, raised_at FROM alarms WHERE status <> 'resolved'
     ${schoolId ? 'AND school_id = $1' : ''} ORDER BY raised_at`,
    schoolId ? [schoolId] : [],
  );
  return rows;
}
