import { type BatteryReport, lowBattery } from '../domain/fob/battery.ts';
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

/**
 * A TEST alarm (a fob drill) of this device that is not resolved yet, if any. Run in the drill's
 * transaction: it first takes the device's drill lock (held to commit), so two drills asked for at
 * the same moment are one drill and a refusal, never two open drills (neither would see the other's
 * row before it committed).
 */
export async function openTestAlarmOf(
  db: Queryable,
  schoolId: string,
  deviceId: string,
): Promise<string | null> {
  await db.query(`SELECT pg_advisory_xact_lock(hashtext('doorstep:fob-drill:' || $1 || ':' || $2))`, [
    schoolId,
    deviceId,
  ]);
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM alarms WHERE school_id = $1 AND device_id = $2 AND test AND status <> 'resolved' ORDER BY id LIMIT 1`,
    [schoolId, deviceId],
  );
  return rows[0] ? String(rows[0].id) : null;
}

/**
 * When an alarm `a` reached Doorstep, as SQL over its alias: the later of its raise time and its fob
 * event's receipt — a fob clock behind (kept when within `ALARM_RAISED_LATE_MS`) puts the raise time
 * before a departure the alarm in fact came after.
 */
export const alarmArrivedAt = (a: string) =>
  `GREATEST(${a}.raised_at, (SELECT e.received_at FROM fob_events e WHERE e.id = ${a}.fob_event_id))`;

/**
 * Whether visit `v` is one an alarm `a` is about (SQL over their aliases): its own visit; or, for a
 * device alarm not tied to one yet (the visit watcher ties them every 15 s, and the first page goes
 * within milliseconds of the raise), each visit out now whose lead or partner carries the alarm's
 * staff id at its school, or that took the alarm's device, and that left before the alarm reached Doorstep
 * (as the watcher ties them: `linkDeviceAlarmsToVisits`). A drill's alarm is no visit's.
 */
export const isAlarmVisit = (a: string, v: string) => `(${v}.id = ${a}.visit_id
      OR (${a}.visit_id IS NULL AND NOT ${a}.test
          AND ${v}.school_id = ${a}.school_id AND ${v}.departed_at IS NOT NULL AND ${v}.returned_at IS NULL
          AND ${alarmArrivedAt(a)} >= ${v}.departed_at
          AND ((${a}.device_id IS NOT NULL AND ${v}.fob_device_id = ${a}.device_id)
               OR EXISTS (SELECT 1 FROM users w WHERE ${a}.staff_id IS NOT NULL AND w.staff_id = ${a}.staff_id
                            AND ${worksAt('w', `${a}.school_id`)} AND w.id IN (${v}.lead_user_id, ${v}.partner_user_id)))))`;

/** The visits an alarm `a` is about (`isAlarmVisit`; SQL over its alias, for LATERAL). */
const alarmVisits = (a: string) => `(
  SELECT v.id, v.lead_user_id, v.partner_user_id, v.worker_phone FROM visits v WHERE ${isAlarmVisit(a, 'v')}
)`;

/**
 * Whether an account is what an alarm is about: the wearer (its staff id is the alarm's, the account
 * working at the alarm's school) or a person on the alarm's visit (lead or partner; `alarmVisits`).
 * Such a person may not take or close the alarm, on the board or from a phone.
 */
export async function isAlarmSubject(
  db: Queryable,
  alarmId: string,
  user: { id: string; staffId: string | null },
): Promise<boolean> {
  return (await alarmsAbout(db, [alarmId], user)).has(alarmId);
}

/** Which of these alarms are about the account (as `isAlarmSubject`), for a board that lists them. */
export async function alarmsAbout(
  db: Queryable,
  alarmIds: readonly string[],
  user: { id: string; staffId: string | null },
): Promise<Set<string>> {
  if (alarmIds.length === 0) return new Set();
  const { rows } = await db.query<{ id: string }>(
    `SELECT a.id::text AS id FROM alarms a
      WHERE a.id = ANY($1::bigint[])
        AND (($2::text IS NOT NULL AND a.staff_id = $2
              AND EXISTS (SELECT 1 FROM users u WHERE u.id = $3::bigint AND ${worksAt('u', 'a.school_id')}))
             OR EXISTS (SELECT 1 FROM ${alarmVisits('a')} av
                         WHERE $3::bigint IN (av.lead_user_id, av.partner_user_id)))`,
    [alarmIds, user.staffId, user.id],
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * The people an alarm is about (as `isAlarmSubject`): the accounts (enabled or disabled) carrying
 * its staff id at its school and the people on its visits — their account ids, phones and e-mail
 * addresses — and the contact number recorded on those visits. No alarm notification goes to them
 * (src/notify/alarm-recipients.ts): they cannot take their own alarm, and a phone that rings or
 * buzzes on someone in duress can give them away.
 */
export async function alarmSubjects(
  db: Queryable,
  alarmId: string,
): Promise<{ userIds: string[]; phones: string[]; emails: string[] }> {
  const { rows } = await db.query<{ user_id: string | null; phone: string | null; email: string | null }>(
    `WITH a AS (SELECT * FROM alarms WHERE id = $1), av AS (SELECT av.* FROM a CROSS JOIN LATERAL ${alarmVisits('a')} av)
     SELECT u.id AS user_id, u.phone, u.email FROM a JOIN users u
        ON (a.staff_id IS NOT NULL AND u.staff_id = a.staff_id AND ${worksAt('u', 'a.school_id')})
        OR u.id IN (SELECT lead_user_id FROM av UNION SELECT partner_user_id FROM av)
     UNION SELECT NULL, worker_phone, NULL FROM av WHERE worker_phone IS NOT NULL`,
    [alarmId],
  );
  return {
    userIds: rows.flatMap((r) => (r.user_id === null ? [] : [String(r.user_id)])),
    phones: rows.flatMap((r) => (r.phone ? [r.phone] : [])),
    emails: rows.flatMap((r) => (r.email ? [r.email] : [])),
  };
}

/**
 * The latest battery report of the fob a visit left with (`v`), since it left and while it is out
 * (a jsonb `{percent, at, low}`, or null): a subquery for a query over visits `v`.
 */
export const FOB_BATTERY_OF_VISIT = `(SELECT jsonb_build_object('percent', b.battery_percent, 'at', b.received_at, 'low', b.type = 'low_battery')
   FROM fob_events b WHERE v.returned_at IS NULL AND v.departed_at IS NOT NULL
     AND b.school_id = v.school_id AND b.device_id = v.fob_device_id AND b.received_at >= v.departed_at
     AND (b.battery_percent IS NOT NULL OR b.type = 'low_battery')
   ORDER BY b.received_at DESC LIMIT 1)`;

/** The fob a visit left with has reported a low battery since, while the visit is out (else null). */
export async function visitFobBatteryLow(db: Queryable, visitId: string) {
  const { rows } = await db.query<{ fob_battery: BatteryReport | null }>(
    `SELECT ${FOB_BATTERY_OF_VISIT} AS fob_battery FROM visits v WHERE v.id = $1`,
    [visitId],
  );
  return lowBattery(rows[0]?.fob_battery);
}
