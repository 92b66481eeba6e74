import type { Queryable } from './db.ts';
import { displayNameOfStaff, worksAt } from './users.ts';

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

/**
 * What a call or a push says of an alarm besides its type: when it was raised and the display name of
 * the person it is about (the device's wearer, as `displayNameOfStaff` finds them — the one rule an
 * e-mail uses too — else the visit's lead); null when no enabled account is theirs.
 */
export async function alarmPerson(
  db: Queryable,
  alarmId: string,
): Promise<{ raisedAt: Date; personName: string | null } | undefined> {
  const { rows } = await db.query<{
    raised_at: Date;
    school_id: string;
    staff_id: string | null;
    lead: string | null;
  }>(
    `SELECT a.raised_at, a.school_id, a.staff_id,
       (SELECT u.display_name FROM visits v JOIN users u ON u.id = v.lead_user_id
         WHERE v.id = a.visit_id AND NOT u.disabled) AS lead
     FROM alarms a WHERE a.id = $1`,
    [alarmId],
  );
  const r = rows[0];
  if (!r) return undefined;
  const wearer = r.staff_id ? await displayNameOfStaff(db, r.school_id, r.staff_id) : undefined;
  return { raisedAt: new Date(r.raised_at), personName: wearer ?? r.lead };
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

/**
 * Whether an account is what an alarm is about: the wearer (its staff id is the alarm's, the account
 * working at the alarm's school) or a person on the alarm's visit (lead or partner). Such a person
 * may not take or close the alarm from a phone (src/alarms/phone-person.ts).
 */
export async function isAlarmSubject(
  db: Queryable,
  alarmId: string,
  user: { id: string; staffId: string | null },
): Promise<boolean> {
  const { rows } = await db.query<{ subject: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM alarms a LEFT JOIN visits v ON v.id = a.visit_id
        WHERE a.id = $1
          AND (($2::text IS NOT NULL AND a.staff_id = $2
                AND EXISTS (SELECT 1 FROM users u WHERE u.id = $3::bigint AND ${worksAt('u', 'a.school_id')}))
               OR v.lead_user_id = $3 OR v.partner_user_id = $3)
     ) AS subject`,
    [alarmId, user.staffId, user.id],
  );
  return rows[0]?.subject === true;
}

/**
 * The phones of the people an alarm is about (as `isAlarmSubject`): the enabled or disabled accounts
 * carrying its staff id at its school, and the people on its visit. Their copy of an alarm text
 * carries no reply code (they may not answer their own alarm).
 */
export async function alarmSubjectPhones(db: Queryable, alarmId: string): Promise<string[]> {
  const { rows } = await db.query<{ phone: string }>(
    `SELECT u.phone FROM alarms a JOIN users u
        ON (a.staff_id IS NOT NULL AND u.staff_id = a.staff_id AND ${worksAt('u', 'a.school_id')})
        OR u.id IN (SELECT v.lead_user_id FROM visits v WHERE v.id = a.visit_id
                    UNION SELECT v.partner_user_id FROM visits v WHERE v.id = a.visit_id)
      WHERE a.id = $1 AND u.phone IS NOT NULL`,
    [alarmId],
  );
  return rows.map((r) => r.phone);
}
