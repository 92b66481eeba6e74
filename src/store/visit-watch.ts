import { alarmArrivedAt } from './alarm-lookups.ts';
import type { Queryable } from './db.ts';
import { toVisit, type VisitRow } from './visits.ts';

/**
 * What the visit watcher reads and writes: the visits out, fob check-ins taken in, device alarms
 * linked to the visit their wearer is on, a visit's open alarms, alarms still owed their first step.
 */

/**
 * How long, at most, a statement in this transaction waits for a row lock (SET LOCAL lock_timeout):
 * past it, it fails (SQLSTATE 55P03) rather than waiting as long as whoever holds the lock — a
 * forgotten `psql` session on a visit would otherwise hold the whole watch, every school's, and a
 * pool connection with it.
 */
export async function boundLockWaits(tx: Queryable, ms: number): Promise<void> {
  await tx.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(ms))}`);
}

/**
 * The school's visits out (departed, not back safe), locked, with the lead's staff id and — only for a
 * school that watches for silent fobs — their fob's last event since the departure, or the time a
 * person resolved the visit's last silent-fob alarm if that is later (the silence counts from the
 * latest of these and the departure, so older events are never read).
 */
export async function visitsOutForWatch(
  tx: Queryable,
  schoolId: string,
  withFobLastEvent: boolean,
): Promise<{ visit: VisitRow; leadStaffId: string | null; fobLastAt: Date | null }[]> {
  const { rows } = await tx.query(
    `SELECT v.*, u.staff_id AS lead_staff_id,
            CASE WHEN $2 AND v.fob_device_id IS NOT NULL THEN
              GREATEST(
                (SELECT max(e.received_at) FROM fob_events e
                 WHERE e.school_id = v.school_id AND e.device_id = v.fob_device_id AND e.received_at >= v.departed_at),
                -- A person closed a silent-fob alarm while the worker is still out: the silence counts
                -- again from then (else a fob that stays dead is never alarmed about again).
                (SELECT max(a.resolved_at) FROM alarms a
                 WHERE a.visit_id = v.id AND a.type = 'device_silent' AND a.status = 'resolved'))
            END AS fob_last_at
     FROM visits v LEFT JOIN users u ON u.id = v.lead_user_id
     WHERE v.school_id = $1 AND v.departed_at IS NOT NULL AND v.returned_at IS NULL FOR UPDATE OF v`,
    [schoolId, withFobLastEvent],
  );
  return rows.map((r) => ({
    visit: toVisit(r),
    leadStaffId: (r.lead_staff_id as string | null) ?? null,
    fobLastAt: r.fob_last_at ? new Date(r.fob_last_at as string) : null,
  }));
}

/**
 * The visit out at school `school` (SQL over its alias) that holds device `device` (the fob it left
 * with, `visits.fob_device_id`) and had left by `at`, as a subquery giving `col` of it: of several
 * (one trip's visits, which share the lead; two leads only in data from before a departure with a
 * fob out was refused), the one that left first with it.
 */
const holderOf = (school: string, device: string, at: string, col: string) => `(
  SELECT h.${col} FROM visits h
  WHERE h.school_id = ${school} AND h.fob_device_id = ${device}
    AND h.departed_at IS NOT NULL AND h.returned_at IS NULL AND h.departed_at <= ${at}
  ORDER BY h.departed_at, h.id LIMIT 1)`;

/**
 * Whether visit `v` is the visit of an event of device `device` for staff id `staff` that reached
 * Doorstep at `at` (SQL over its aliases; `v` a visit out at the event's school that left by `at`).
 * The fob first: the visits out holding the device (the fob they left with) are its visits — those
 * of the holder's lead (one trip: siblings at one address) — whatever the registry said of the
 * device (`staff`), since changed. Where no visit out holds it: the visits that recorded the device
 * when they left — one of the lead's then (`fob_device_ids`: the config gives one staff id several —
 * a spare fob, an app) or of the partner's (`partner_fob_device_ids`) — again whatever the registry
 * says now (a departure records no device another visit out recorded). Never a visit by the staff id
 * the registry gives a device now: a fob swapped or moved in the config while its wearer was out would
 * else let that wearer, back safe with it in hand, check someone else in (their missed check-in never
 * raised) and tie his SOS to their visit — a visit that left with no fob counts no device's presses
 * (its warning said to check in by phone). By staff id only for an event naming no device (an alarm
 * may name none — `alarms.device_id` is nullable; a fob event always names one): the lead's or the
 * partner's.
 */
const isEventVisit = (v: string, school: string, device: string, staff: string, at: string) => `(
  CASE WHEN ${device} IS NULL
    THEN ${staff} IS NOT NULL AND EXISTS (SELECT 1 FROM users u WHERE u.staff_id = ${staff}
      AND u.id IN (${v}.lead_user_id, ${v}.partner_user_id))
  WHEN ${holderOf(school, device, at, 'id')} IS NOT NULL
    THEN ${v}.fob_device_id = ${device} AND ${v}.lead_user_id = ${holderOf(school, device, at, 'lead_user_id')}
  ELSE ${device} = ANY(${v}.fob_device_ids) OR ${device} = ANY(${v}.partner_fob_device_ids)
  END)`;

/**
 * Device alarms not yet tied to a visit, raised on a visit out since it left: tied to it (one raised
 * before they left was not raised there: its card must not show the visit's address as where it
 * happened, nor back safe close it). Whose visit: the one holding the alarm's device, else one that
 * recorded it when it left (`isEventVisit`) — the first of them to leave. "Since it left" is by the later of the device's
 * time and Doorstep's receipt (`alarmArrivedAt`): a fob whose clock is slow (trusted up to an hour
 * behind) still raises its alarm at the visit the worker is on when it reaches Doorstep.
 */
export async function linkDeviceAlarmsToVisits(tx: Queryable, schoolId: string): Promise<void> {
  await tx.query(
    `UPDATE alarms a SET visit_id = m.visit_id FROM (
       SELECT x.id, (
         SELECT v.id FROM visits v
         WHERE v.school_id = x.school_id AND v.departed_at IS NOT NULL AND v.returned_at IS NULL
           AND v.departed_at <= x.arrived
           AND ${isEventVisit('v', 'x.school_id', 'x.device_id', 'x.staff_id', 'x.arrived')}
         ORDER BY v.departed_at, v.id LIMIT 1) AS visit_id
       FROM (SELECT a1.id, a1.school_id, a1.device_id, a1.staff_id, ${alarmArrivedAt('a1')} AS arrived
             FROM alarms a1
             WHERE a1.school_id = $1 AND a1.visit_id IS NULL AND a1.status <> 'resolved'
               AND NOT a1.test -- a fob drill is no visit's alarm
               AND (a1.device_id IS NOT NULL OR a1.staff_id IS NOT NULL)) x
     ) m
     WHERE a.id = m.id AND m.visit_id IS NOT NULL AND a.visit_id IS NULL`,
    [schoolId],
  );
}

/**
 * Trusted fob `check_in` events of the last day, from a device of a person on a visit out and
 * received after it departed, become check-ins of that visit (once per event and visit: one press
 * counts for each visit of the trip — siblings at one address — the wearer is out on). Whose visit:
 * those holding the device, else those that recorded it when they left (`isEventVisit`): a fob given
 * to someone else while its wearer is out still checks its wearer in, never the person the registry
 * now names. The time is never
 * later than the receipt; a device time before the departure by no more than the school's clock
 * skew (a slow clock) is replaced by the received time, and one earlier than that counts for
 * nothing: it says nothing of the worker now — and may be an old signed check-in replayed once its
 * record (the only proof of a redelivery) was purged. Returns the new check-ins (oldest first), each
 * with its visit's own check-in interval.
 */
export async function insertTrustedFobCheckIns(
  tx: Queryable,
  schoolId: string,
  now: Date,
  maxClockSkewMs: number,
): Promise<{ visitId: string; at: Date; checkInMinutes: number | null }[]> {
  const { rows } = await tx.query<{ visit_id: string; at: Date; check_in_minutes: number | null }>(
    `WITH taken AS (
     INSERT INTO visit_check_ins (visit_id, at, source, fob_event_id)
     SELECT v.id, CASE WHEN e.occurred_at < v.departed_at THEN e.received_at ELSE LEAST(e.occurred_at, e.received_at) END,
            'fob', e.id
     FROM fob_events e
       JOIN visits v ON v.school_id = e.school_id AND v.departed_at IS NOT NULL AND v.returned_at IS NULL
                    AND e.received_at >= v.departed_at
                    AND ${isEventVisit('v', 'e.school_id', 'e.device_id', 'e.staff_id', 'e.received_at')}
     WHERE e.school_id = $1 AND e.type = 'check_in' AND e.received_at > $2::timestamptz - interval '1 day'
       AND e.trust_issue IS NULL AND e.clock_skew_ms IS NULL
       AND e.occurred_at >= v.departed_at - make_interval(secs => $3::float8 / 1000)
     ON CONFLICT (fob_event_id, visit_id) DO NOTHING RETURNING visit_id, at)
     SELECT t.visit_id, t.at, v.check_in_minutes FROM taken t JOIN visits v ON v.id = t.visit_id ORDER BY t.at`,
    [schoolId, now, maxClockSkewMs],
  );
  return rows.map((r) => ({
    visitId: String(r.visit_id),
    at: r.at,
    checkInMinutes: r.check_in_minutes ?? null,
  }));
}

/** The visit's last check-in moves to `at` unless it is already later. */
export async function advanceLastCheckIn(tx: Queryable, visitId: string, at: Date): Promise<void> {
  await tx.query(
    'UPDATE visits SET last_check_in_at = GREATEST(COALESCE(last_check_in_at, $2), $2), updated_at = now() WHERE id = $1',
    [visitId, at],
  );
}

/**
 * The ids of the visit's own alarms of these kinds (the register's: overdue, missed check-in, silent
 * fob, "I need help" — raised by no device) that are not resolved. Never a device's alarm tied to the
 * visit: a fob's own `missed_check_in` (Blackline's, say) has the register's name but is the device's
 * word, and is closed by a person on the board — not by the partner's check-in or "arrived".
 */
export async function openAlarmIdsOfVisit(
  tx: Queryable,
  visitId: string,
  types: readonly string[],
): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM alarms
     WHERE visit_id = $1 AND type = ANY($2::text[]) AND status <> 'resolved' AND device_id IS NULL`,
    [visitId, [...types]],
  );
  return rows.map((r) => String(r.id));
}

/** Of the alarms raised under these dedup keys, those not resolved whose ladder is still at its first step. */
/** The alarm raised under `dedupKey`, if one was (a repeated "I need help" press finds its own). */
export async function alarmIdByKey(db: Queryable, dedupKey: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM alarms WHERE dedup_key = $1', [dedupKey]);
  return rows[0] ? String(rows[0].id) : null;
}

export async function alarmsAwaitingFirstStep(
  db: Queryable,
  dedupKeys: readonly string[],
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM alarms WHERE dedup_key = ANY($1::text[]) AND escalation_step = 0 AND status <> 'resolved'`,
    [[...dedupKeys]],
  );
  return rows.map((r) => String(r.id));
}

/**
 * Workers out and alarms not resolved at schools the config no longer holds (a school renamed or
 * removed while they were open): nothing watches them there — no deadlines, no ladder channels.
 * Per school id: how many of each.
 */
export async function watchedOutsideConfig(
  db: Queryable,
  schoolIds: readonly string[],
): Promise<{ schoolId: string; visitsOut: number; openAlarms: number }[]> {
  // Before the first start has made the tables there is nothing to watch.
  const made = await db.query<{ ok: boolean }>(
    `SELECT to_regclass('visits') IS NOT NULL AND to_regclass('alarms') IS NOT NULL AS ok`,
  );
  if (!made.rows[0]?.ok) return [];
  const { rows } = await db.query<{ school_id: string; visits_out: number; open_alarms: number }>(
    `SELECT school_id, sum(v)::int AS visits_out, sum(a)::int AS open_alarms FROM (
       SELECT school_id, 1 AS v, 0 AS a FROM visits
        WHERE departed_at IS NOT NULL AND returned_at IS NULL AND school_id <> ALL($1::text[])
       UNION ALL
       SELECT school_id, 0, 1 FROM alarms WHERE status <> 'resolved' AND school_id <> ALL($1::text[])
     ) x GROUP BY school_id ORDER BY school_id`,
    [[...schoolIds]],
  );
  return rows.map((r) => ({ schoolId: r.school_id, visitsOut: r.visits_out, openAlarms: r.open_alarms }));
}

/**
 * The fobs visits out hold (the fob each left with, `visits.fob_device_id`) at these schools, with
 * the staff id of each holding visit's lead now (null: none) — one row per school, fob and lead.
 * For the check that the registry still gives each such fob to its wearer (src/checks/fobs-out.ts).
 */
export async function fobsHeldOut(
  db: Queryable,
  schoolIds: readonly string[],
): Promise<{ schoolId: string; deviceId: string; leadStaffId: string | null; visits: number }[]> {
  // Before the first start has made the tables there is nothing out.
  const made = await db.query<{ ok: boolean }>(
    `SELECT to_regclass('visits') IS NOT NULL AND to_regclass('users') IS NOT NULL AS ok`,
  );
  if (!made.rows[0]?.ok) return [];
  const { rows } = await db.query<{
    school_id: string;
    fob_device_id: string;
    lead_staff_id: string | null;
    visits: number;
  }>(
    `SELECT v.school_id, v.fob_device_id, u.staff_id AS lead_staff_id, count(*)::int AS visits
     FROM visits v LEFT JOIN users u ON u.id = v.lead_user_id
     WHERE v.departed_at IS NOT NULL AND v.returned_at IS NULL AND v.fob_device_id IS NOT NULL
       AND v.school_id = ANY($1::text[])
     GROUP BY v.school_id, v.fob_device_id, u.staff_id ORDER BY v.school_id, v.fob_device_id`,
    [[...schoolIds]],
  );
  return rows.map((r) => ({
    schoolId: r.school_id,
    deviceId: r.fob_device_id,
    leadStaffId: r.lead_staff_id,
    visits: r.visits,
  }));
}
