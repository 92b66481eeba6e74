import { randomUUID } from 'node:crypto';
import { londonClock, londonDate } from '../domain/attendance/dates.ts';
import { withoutValues } from '../domain/erasure.ts';
import { RESOLUTIONS, type ResolutionReason, writesIncidentRecord } from '../domain/escalation/resolution.ts';
import { RESUME_WATCH_MINUTES } from '../domain/visits/lifecycle.ts';
import { doorstepError } from '../errors.ts';
import { appendAudit } from './audit.ts';
import type { Db, Queryable } from './db.ts';
import { PUPIL_ALARMS, PUPIL_AUDIT, PUPIL_VISITS, SECTIONS } from './subject-sections.ts';

/** Rows removed by an erasure, per table. */
export type Removed = Record<string, number>;

async function run(tx: Queryable, out: Removed, label: string, sql: string, p: unknown[]) {
  const { rowCount } = await tx.query(sql, p);
  if (rowCount) out[label] = (out[label] ?? 0) + rowCount;
}

/**
 * Erases one pupil from Doorstep: their details, contacts, marks, leave refusals, triggers, visits
 * (with check-ins, return changes, visit alarms, timelines and notifications; the fob events of those
 * alarms and check-ins, and every event of the visits' fobs while the workers were out, kept without
 * position, payload, message or voice note), records in the outbox,
 * their id in imports and board events, and the details of every audit entry about them. The audit
 * entries themselves stay (who, what, when), referring to the pupil by `reference`, never their id, and so does a lone-worker
 * incident on one of their visits, the worker's record, cut from them (`keepIncidentAlarms`,
 * `keepVisitIncidentRecords`). Refused while a visit to the pupil
 * is out (a worker out is always watched), while one was said back safe less than
 * `RESUME_WATCH_MINUTES` before `now` (the caller's clock: a back safe said by mistake can still be
 * undone — "I am still out" — and "I need help" from its people is never refused, both of which need
 * the visit), while an alarm on one is not resolved, and while a record about them is not yet
 * delivered to its sink (pending or failed: never a safeguarding record lost unsent). Call inside a
 * transaction.
 */
export async function erasePupil(
  tx: Queryable,
  schoolId: string,
  misId: string,
  now: Date,
  reference: string = erasedReference(),
): Promise<Removed> {
  const p = [schoolId, misId];
  // The pupil's visits locked first: a departure (or an "I am still out") committing meanwhile is
  // waited for and seen (a plain read would miss it, and the delete below would take the visit of a
  // worker out, unwatched).
  const visits = await tx.query<{ id: string; out: boolean; departed: boolean; returned_at: Date | null }>(
    `SELECT id, (departed_at IS NOT NULL AND returned_at IS NULL) AS out, departed_at IS NOT NULL AS departed,
            returned_at FROM visits
     WHERE school_id = $1 AND pupil_mis_id = $2 ORDER BY id FOR UPDATE`,
    p,
  );
  refuseWhileOutOrRecentlyBack(visits.rows, now);
  // A visit back is not the end of its alarms: an SOS raised on it runs its ladder until a person
  // resolves it. Erasing would delete the alarm and stop the ladder.
  const open = await tx.query(
    `SELECT id FROM alarms WHERE id IN (${PUPIL_ALARMS}) AND status <> 'resolved' LIMIT 1`,
    p,
  );
  if (open.rows.length)
    throw doorstepError(
      'CONFLICT',
      `this pupil: alarm ${String(open.rows[0]!.id)} on a visit to them is not resolved: not erased until it is (its ladder still runs)`,
    );
  // Nor while a record about them has not reached CPOMS / Arbor: erasing would delete a safeguarding
  // record unsent (one waiting out an outage, or failed and waiting for a person), unseen by anyone.
  await refuseWhileUndelivered(tx, schoolId, misId);
  const removed: Removed = {};
  // Audit details first, while the references they are found by still exist.
  await run(
    tx,
    removed,
    'audit_details',
    `DELETE FROM audit_details WHERE audit_id IN (SELECT id FROM audit_entries WHERE ${PUPIL_AUDIT})`,
    p,
  );
  // The entries stay, but not by the pupil's id (a CTF school's is the UPN, a national identifier):
  // those naming it refer to the pupil by the erasure's reference instead (a mark's keeps its date
  // and session). Only this may change an entry (migration 067), and only inside an erasure.
  await tx.query(`SELECT set_config('doorstep.erasing', 'on', true)`);
  await tx.query(
    `UPDATE audit_entries SET entity_id = $3 || substr(entity_id, length($2) + 1)
     WHERE school_id = $1 AND ((entity_type = 'pupil' AND entity_id = $2)
        OR (entity_type = 'attendance_mark' AND starts_with(entity_id, $2 || '/')))`,
    [schoolId, misId, reference],
  );
  await tx.query(`SELECT set_config('doorstep.erasing', 'off', true)`);
  await run(
    tx,
    removed,
    'board_events',
    `DELETE FROM board_events WHERE ${SECTIONS.find((s) => s.table === 'board_events')!.pupil}`,
    p,
  );
  // A lone-worker incident on a visit to them is the worker's record: kept, cut from the pupil (the
  // alarms that are left below are the visits' other alarms).
  await keepIncidentAlarms(tx, PUPIL_VISITS, p);
  await keepVisitIncidentRecords(tx, schoolId, misId);
  await run(
    tx,
    removed,
    'notification_recipients',
    `DELETE FROM notification_recipients WHERE notification_id IN (SELECT id FROM notifications WHERE alarm_id IN (${PUPIL_ALARMS}))`,
    p,
  );
  await run(tx, removed, 'notifications', `DELETE FROM notifications WHERE alarm_id IN (${PUPIL_ALARMS})`, p);
  await run(tx, removed, 'sms_replies', `DELETE FROM sms_replies WHERE alarm_id IN (${PUPIL_ALARMS})`, p);
  await run(
    tx,
    removed,
    'alarm_timeline',
    `DELETE FROM alarm_timeline WHERE alarm_id IN (${PUPIL_ALARMS})`,
    p,
  );
  // The fob events the visits' alarms were raised from and their check-ins were counted by stay
  // (the device's log, the worker's, until `fobEventDays`), but not what they held of the family's
  // door: the position, the payload as received, a message or voice note.
  await stripFobEvents(
    tx,
    `SELECT fob_event_id FROM alarms WHERE id IN (${PUPIL_ALARMS})
     UNION SELECT fob_event_id FROM visit_check_ins WHERE visit_id IN (${PUPIL_VISITS})`,
    p,
  );
  // So do the visits' fobs' other events while the workers were out (a timer started with a voice
  // note naming the family, a cancelled timer, a check-out, a low battery, a drill, position reports):
  // read only where a visit departed (the search reads the school's fob events).
  if (visits.rows.some((v) => v.departed)) await stripFobEvents(tx, VISIT_FOB_EVENTS, p);
  await run(tx, removed, 'alarms', `DELETE FROM alarms WHERE id IN (${PUPIL_ALARMS})`, p);
  await run(
    tx,
    removed,
    'visit_check_ins',
    `DELETE FROM visit_check_ins WHERE visit_id IN (${PUPIL_VISITS})`,
    p,
  );
  await run(
    tx,
    removed,
    'follow_ups',
    'DELETE FROM follow_ups WHERE school_id = $1 AND pupil_mis_id = $2',
    p,
  );
  await run(
    tx,
    removed,
    'visit_return_changes',
    `DELETE FROM visit_return_changes WHERE visit_id IN (${PUPIL_VISITS})`,
    p,
  );
  await run(tx, removed, 'notices', `DELETE FROM notices WHERE visit_id IN (${PUPIL_VISITS})`, p);
  // Never a visit out or back safe within the window (one asked for and left on after the lock
  // above): it stays, and the erasure fails.
  await run(
    tx,
    removed,
    'visits',
    `DELETE FROM visits WHERE school_id = $1 AND pupil_mis_id = $2
       AND (departed_at IS NULL OR returned_at <= $3)`,
    [...p, backSafeFinalBefore(now)],
  );
  const left = await tx.query<{ id: string; out: boolean; returned_at: Date | null }>(
    `SELECT id, (departed_at IS NOT NULL AND returned_at IS NULL) AS out, returned_at FROM visits
     WHERE school_id = $1 AND pupil_mis_id = $2 ORDER BY id`,
    p,
  );
  refuseWhileOutOrRecentlyBack(left.rows, now);
  if (left.rows.length) throw visitOut(left.rows[0]!.id);
  await run(
    tx,
    removed,
    'trigger_actions',
    `DELETE FROM trigger_actions WHERE school_id = $1 AND pupil_mis_id = $2`,
    p,
  );
  await run(
    tx,
    removed,
    'trigger_episodes',
    `DELETE FROM trigger_episodes WHERE school_id = $1 AND pupil_mis_id = $2`,
    p,
  );
  await run(
    tx,
    removed,
    'outbox',
    `DELETE FROM outbox WHERE school_id = $1 AND pupil_ids @> jsonb_build_array($2::text)
       AND status NOT IN (${UNDELIVERED})`,
    p,
  );
  // Never an undelivered record (one written meanwhile): it stays, and the erasure fails.
  await refuseWhileUndelivered(tx, schoolId, misId);
  await run(
    tx,
    removed,
    'leave_refusals',
    `DELETE FROM leave_refusals WHERE school_id = $1 AND pupil_mis_id = $2`,
    p,
  );
  await run(
    tx,
    removed,
    'mark_records',
    `DELETE FROM mark_records WHERE school_id = $1 AND pupil_mis_id = $2`,
    p,
  );
  await run(
    tx,
    removed,
    'held_marks',
    `DELETE FROM held_marks WHERE school_id = $1 AND pupil_mis_id = $2`,
    p,
  );
  // A month of marks per row: the count is of the marks the removed months held (counted in the
  // statement: a SELECT's row count is not reported alike by both backends).
  const marks = await tx.query<{ n: number }>(
    `WITH gone AS (DELETE FROM attendance_months WHERE school_id = $1 AND pupil_mis_id = $2 RETURNING codes)
     SELECT count(*)::int AS n FROM gone, unnest(gone.codes) AS c WHERE c IS NOT NULL`,
    p,
  );
  if (marks.rows[0]!.n) removed.attendance_marks = (removed.attendance_marks ?? 0) + marks.rows[0]!.n;
  await run(
    tx,
    removed,
    'pupil_contacts',
    `DELETE FROM pupil_contacts WHERE school_id = $1 AND pupil_mis_id = $2`,
    p,
  );
  await run(tx, removed, 'pupils', `DELETE FROM pupils WHERE school_id = $1 AND mis_id = $2`, p);
  // Imports keep their counts; the pupil's id leaves their lists. A refused row goes when its `pupil`
  // field is theirs; one stored before the import kept that field has none and stays: its text is
  // not searched for the id (a line number, a date or another pupil's id holds the same digits).
  // Those stay until the import itself goes with its retention. The pupil's place in the changed
  // pupils stays, empty (null): an import's evaluation chunks are slices of those places, and a chunk
  // handed over again after the erasure must cover the same pupils as before it, or the pupil after
  // each removed one would slip into a chunk already evaluated and never be evaluated.
  await run(
    tx,
    removed,
    'imports',
    `UPDATE imports SET changed_pupils = coalesce((SELECT jsonb_agg(CASE WHEN c.e = to_jsonb($2::text) THEN 'null'::jsonb ELSE c.e END ORDER BY c.n)
                                                   FROM jsonb_array_elements(changed_pupils) WITH ORDINALITY AS c(e, n)), '[]'),
       rejected = coalesce((SELECT jsonb_agg(r) FROM jsonb_array_elements(rejected) r WHERE r->>'pupil' IS DISTINCT FROM $2::text), '[]'),
       calendar_problems = coalesce((SELECT jsonb_agg(c) FROM jsonb_array_elements(calendar_problems) c
                                     WHERE c->>'pupil' IS DISTINCT FROM $2::text), '[]'),
       rejected_causes = coalesce((SELECT jsonb_agg(CASE WHEN g->>'idKind' = 'pupils' AND jsonb_typeof(g->'first') = 'array'
           THEN jsonb_set(g, '{first}', coalesce((SELECT jsonb_agg(f) FROM jsonb_array_elements(g->'first') f
                                                  WHERE f <> to_jsonb($2::text)), '[]'))
           ELSE g END) FROM jsonb_array_elements(rejected_causes) g), '[]')
     WHERE school_id = $1 AND (changed_pupils @> jsonb_build_array($2::text) OR rejected @> jsonb_build_array(jsonb_build_object('pupil', $2::text))
        OR calendar_problems @> jsonb_build_array(jsonb_build_object('pupil', $2::text))
        OR rejected_causes @> jsonb_build_array(jsonb_build_object('first', jsonb_build_array($2::text))))`,
    p,
  );
  return removed;
}

/**
 * Erasure's refusals name "this pupil", never their id: the caller knows whom it asked for, and the
 * message reaches logs and the queue's failed jobs from the leavers' erasure — where a CTF school's
 * pupil id, the UPN, must never be.
 */
const visitOut = (visitId: unknown) =>
  doorstepError(
    'CONFLICT',
    `this pupil has a visit out now (visit ${String(visitId)}): not erased while a worker is out — erase again once they are back safe`,
  );

/**
 * Back safe recorded at or before this (`now` less `RESUME_WATCH_MINUTES`) can no longer be undone:
 * a visit back safe after it is kept by erasure and retention (`erasePupil`, the `visits` and
 * `leavers-erased` purges), as one out is.
 */
export const backSafeFinalBefore = (now: Date): Date =>
  new Date(now.getTime() - RESUME_WATCH_MINUTES * 60_000);

/**
 * Refuses (409) an erasure while one of the pupil's visits is out, or was said back safe less than
 * `RESUME_WATCH_MINUTES` before `now` (the back safe can still be undone: the worker may be out).
 */
function refuseWhileOutOrRecentlyBack(
  visits: { id: string; out: boolean; returned_at: Date | null }[],
  now: Date,
): void {
  const out = visits.find((v) => v.out);
  if (out) throw visitOut(out.id);
  // The latest such back safe: the erasure may go ahead once that one can no longer be undone.
  const final = backSafeFinalBefore(now).getTime();
  let back: { id: string; at: number } | undefined;
  for (const v of visits) {
    const at = v.returned_at === null ? null : new Date(v.returned_at).getTime();
    if (at !== null && at > final && (!back || at > back.at)) back = { id: v.id, at };
  }
  if (!back) return;
  const from = new Date(back.at + RESUME_WATCH_MINUTES * 60_000);
  throw doorstepError(
    'CONFLICT',
    `this pupil has a visit back safe less than ${RESUME_WATCH_MINUTES / 60} h ago (visit ${String(back.id)}): not erased while that back safe can still be undone ("I am still out": the worker may still be out) — erase again from ${londonDate(from)} ${londonClock(from)}`,
  );
}

/** The resolution reasons that make an alarm a lone-worker incident (SQL list): `writesIncidentRecord`. */
const INCIDENT_REASONS = (Object.keys(RESOLUTIONS) as ResolutionReason[])
  .filter(writesIncidentRecord)
  .map((r) => `'${r}'`)
  .join(', ');

/**
 * Keeps the lone-worker incidents among the alarms of the visits `visitIds` (SQL, over `p`) when the
 * visits go — their pupil erased, or the visits past their period: an alarm resolved as an incident
 * (not a drill's) is about the worker, what happened to them on the visit, and is kept `alarmDays`
 * (6 years, the IRMS period for incidents about adults; the retention's `alarms` kind removes it then,
 * with its timeline and notifications). Cut from the visit and its pupil: no visit id, no position
 * (the family's door: the alarm's, and a fob SOS's event's position, payload, message and voice
 * note), every value Doorstep holds of the pupil (names, ids, address, their family's
 * names, numbers and addresses, the visit's address) taken out of the resolver's note and the
 * timeline (a worker's running-late reason is typed free text); its incident record in the outbox
 * loses the pupil's id and its text (the address, the position: it is in CPOMS / Arbor under its
 * remote id) — only once delivered, a preview or dismissed: a record not yet sent is never touched
 * (erasure waits for it). Returns the kept alarms' ids. Call before the visits' alarms are deleted.
 */
export async function keepIncidentAlarms(tx: Queryable, visitIds: string, p: unknown[]): Promise<string[]> {
  const { rows } = await tx.query<{
    id: string;
    school_id: string;
    pupil_mis_id: string;
    address: Record<string, unknown> | null;
    resolution_note: string | null;
  }>(
    `SELECT a.id, v.school_id, v.pupil_mis_id, v.address, a.resolution_note
     FROM alarms a JOIN visits v ON v.id = a.visit_id
     WHERE a.visit_id IN (${visitIds}) AND a.status = 'resolved' AND NOT a.test
       AND a.resolution_reason IN (${INCIDENT_REASONS})
     ORDER BY a.id`,
    p,
  );
  const held = new Map<string, string[]>();
  for (const r of rows) {
    const key = `${r.school_id}\n${r.pupil_mis_id}`;
    if (!held.has(key)) held.set(key, await pupilValues(tx, r.school_id, r.pupil_mis_id));
    const values = [...held.get(key)!, ...addressValues(r.address)];
    await tx.query('UPDATE alarms SET visit_id = NULL, location = NULL, resolution_note = $2 WHERE id = $1', [
      r.id,
      r.resolution_note === null ? null : withoutValues(r.resolution_note, values),
    ]);
    // A fob's SOS: its event held the position too (and the payload as received, with it), and a
    // message or voice note from the door.
    await stripFobEvents(tx, 'SELECT fob_event_id FROM alarms WHERE id = $1', [r.id]);
    const timeline = await tx.query<{ id: string; event: string }>(
      'SELECT id, event FROM alarm_timeline WHERE alarm_id = $1',
      [r.id],
    );
    for (const t of timeline.rows) {
      const event = withoutValues(t.event, values);
      if (event !== t.event)
        await tx.query('UPDATE alarm_timeline SET event = $2 WHERE id = $1', [t.id, event]);
    }
    await tx.query(
      `UPDATE outbox SET pupil_ids = pupil_ids - $3::text, body = ''
       WHERE school_id = $1 AND kind = 'lone_worker_incident' AND source_type = 'alarm' AND source_id = $2
         AND status NOT IN (${UNDELIVERED})`,
      [r.school_id, String(r.id), r.pupil_mis_id],
    );
  }
  return rows.map((r) => String(r.id));
}

/**
 * The fob events of the pupil's visits while the workers were out (SQL over `$1` school, `$2` MIS id):
 * every event received from when a visit departed until it was back safe (or until now, were it not
 * back) from the fob it left with (`fob_device_id`, the lead's), another device registered to the lead
 * or the partner when it left (`fob_device_ids`, `partner_fob_device_ids`), or from a device the registry gives
 * the lead's or the partner's staff id — as the watcher ties their alarms and check-ins to the visit.
 * Never an event an alarm or check-in of another pupil's visit holds (a round of visits whose back
 * safe was recorded at its end: the erased visit's window covers the next family's, and that
 * family's incident is theirs, kept to its own retention).
 */
const VISIT_FOB_EVENTS = `SELECT e.id FROM visits v JOIN fob_events e ON e.school_id = v.school_id
    AND e.received_at >= v.departed_at AND e.received_at <= coalesce(v.returned_at, now())
    AND (e.device_id = v.fob_device_id OR e.device_id = ANY(v.fob_device_ids)
         OR e.device_id = ANY(v.partner_fob_device_ids)
         OR e.staff_id IN (SELECT u.staff_id FROM users u WHERE u.id IN (v.lead_user_id, v.partner_user_id)))
  WHERE v.school_id = $1 AND v.pupil_mis_id = $2 AND v.departed_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM alarms a JOIN visits o ON o.id = a.visit_id
                    WHERE a.fob_event_id = e.id AND o.pupil_mis_id IS DISTINCT FROM v.pupil_mis_id)
    AND NOT EXISTS (SELECT 1 FROM visit_check_ins c JOIN visits o ON o.id = c.visit_id
                    WHERE c.fob_event_id = e.id AND o.pupil_mis_id IS DISTINCT FROM v.pupil_mis_id)`;

/**
 * Strips the fob events whose ids `ids` (SQL, over `p`) selects of where they were and what they
 * said — the position, the payload as received (which holds it), the message and voice note — as the
 * retention's `fob-locations` kind does, and as it does never an open alarm's event (another visit's
 * alarm still being handled: its card shows where the worker is). The event stays: its device, type
 * and time.
 */
async function stripFobEvents(tx: Queryable, ids: string, p: unknown[]): Promise<void> {
  await tx.query(
    `UPDATE fob_events SET location = NULL, raw = '', message = NULL, voice_note_url = NULL
      WHERE id IN (${ids})
        AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.fob_event_id = fob_events.id AND a.status <> 'resolved')`,
    p,
  );
}

/**
 * Keeps the lone-worker incident records raised from a visit to the pupil ("an incident of
 * aggression, violence or threat towards staff"): the worker's record, as an incident alarm is — cut
 * from the pupil: no pupil id, no text (the pupil, the address, what happened at their door: it is in
 * CPOMS / Arbor under its remote id), the pupil's values out of its title. Delivered, preview or
 * dismissed records only (erasure refuses while one is not yet sent). The worker's export still finds
 * it by the audit entry of its raising.
 */
async function keepVisitIncidentRecords(tx: Queryable, schoolId: string, misId: string): Promise<void> {
  const { rows } = await tx.query<{ id: string; title: string }>(
    `SELECT id, title FROM outbox
     WHERE school_id = $1 AND kind = 'lone_worker_incident' AND source_type = 'visit'
       AND source_id IN (SELECT id::text FROM (${PUPIL_VISITS}) x)
       AND pupil_ids @> jsonb_build_array($2::text) AND status NOT IN (${UNDELIVERED})
     ORDER BY id`,
    [schoolId, misId],
  );
  if (!rows.length) return;
  const values = await pupilValues(tx, schoolId, misId);
  for (const r of rows)
    await tx.query(
      `UPDATE outbox SET pupil_ids = pupil_ids - $2::text, title = $3, body = '' WHERE id = $1`,
      [r.id, misId, withoutValues(r.title, values)],
    );
}

const addressValues = (a: Record<string, unknown> | null | undefined): string[] =>
  a ? [a.line1, a.line2, a.postcode].filter((v): v is string => typeof v === 'string') : [];

/** What Doorstep holds that names a pupil: their ids, names and address, their contacts' names, numbers and addresses. */
async function pupilValues(tx: Queryable, schoolId: string, misId: string): Promise<string[]> {
  const pupil = await tx.query<{
    upn: string | null;
    forename: string | null;
    surname: string | null;
    preferred_name: string | null;
    address: Record<string, unknown> | null;
  }>(
    'SELECT upn, forename, surname, preferred_name, address FROM pupils WHERE school_id = $1 AND mis_id = $2',
    [schoolId, misId],
  );
  const contacts = await tx.query<{
    name: string | null;
    phone: string | null;
    email: string | null;
    address: Record<string, unknown> | null;
  }>('SELECT name, phone, email, address FROM pupil_contacts WHERE school_id = $1 AND pupil_mis_id = $2', [
    schoolId,
    misId,
  ]);
  return [
    misId,
    ...pupil.rows.flatMap((r) => [
      r.upn,
      r.forename,
      r.surname,
      r.preferred_name,
      ...addressValues(r.address),
    ]),
    ...contacts.rows.flatMap((c) => [c.name, c.phone, c.email, ...addressValues(c.address)]),
  ].filter((v): v is string => typeof v === 'string');
}

/**
 * Outbox statuses of a record not yet at its sink (SQL list): a pupil with one is not erased. Not a
 * dismissed record: it never will be, and a person recorded it by hand (`dismissOutbox`).
 */
export const UNDELIVERED = `'pending', 'delivering', 'failed'`;

/**
 * Refuses (409) an erasure while records about the pupil are not yet delivered — waiting to be sent
 * or failed — saying how many and what to do. The records' ids only, never the pupil's: the message
 * reaches logs and terminals.
 */
async function refuseWhileUndelivered(tx: Queryable, schoolId: string, misId: string): Promise<void> {
  const { rows } = await tx.query<{ id: string; status: string }>(
    `SELECT id, status FROM outbox WHERE school_id = $1 AND pupil_ids @> jsonb_build_array($2::text)
       AND status IN (${UNDELIVERED}) ORDER BY id`,
    [schoolId, misId],
  );
  if (!rows.length) return;
  const failed = rows.filter((r) => r.status === 'failed').map((r) => `#${String(r.id)}`);
  const waiting = rows.length - failed.length;
  const what: string[] = [];
  const todo: string[] = [];
  if (waiting) {
    what.push(`${waiting} waiting to be sent`);
    todo.push('wait for their delivery (`doorstep outbox list --status pending`)');
  }
  if (failed.length) {
    what.push(`${failed.length} failed: ${failed.join(', ')}`);
    todo.push(
      'resolve the failed ones (the cause is in `doorstep outbox show ID`; once fixed, `doorstep outbox retry ID`; one that can never be sent, once recorded by hand, `doorstep outbox dismiss ID --reason "where it was recorded"`)',
    );
  }
  throw doorstepError(
    'CONFLICT',
    `this pupil: ${rows.length} record(s) about them not yet delivered to CPOMS / Arbor (${what.join('; ')}): not erased, so that no safeguarding record is lost unsent — ${todo.join(' and ')}, then erase again`,
  );
}

/**
 * What an erased pupil's audit entries refer to them by: not their id (a CTF school's is the UPN),
 * nor anything derived from it (a hash of a UPN is found again by trying the school's), the same in
 * each of their entries and the erasure's own.
 */
export function erasedReference(): string {
  return `erased:${randomUUID()}`;
}

/**
 * Erases a pupil and audits it (references only: the entry names the erasure's reference and the
 * counts). `now`: the caller's clock (`erasePupil`). `reference`: what the entries refer to the pupil by (given, for the caller's own entries
 * about the same erasure).
 */
export async function erasePupilAudited(
  db: Db,
  schoolId: string,
  misId: string,
  actor: string,
  now: Date,
  reference: string = erasedReference(),
): Promise<Removed> {
  return db.transaction(async (tx) => {
    const removed = await erasePupil(tx, schoolId, misId, now, reference);
    await appendAudit(tx, {
      actor,
      action: 'subject.erased',
      schoolId,
      entityType: 'pupil',
      entityId: reference,
      after: { removed },
    });
    return removed;
  });
}

/**
 * The ids a pupil is known by outside Doorstep's tables — their MIS id and UPN — for finding the
 * MIS's own files that still hold them (the drop folder's kept exports): the MIS id, and the UPN
 * while the pupil's row is held.
 */
export async function pupilIds(db: Queryable, schoolId: string, misId: string): Promise<string[]> {
  const { rows } = await db.query<{ upn: string | null }>(
    'SELECT upn FROM pupils WHERE school_id = $1 AND mis_id = $2',
    [schoolId, misId],
  );
  return [...new Set([misId, rows[0]?.upn].filter((v): v is string => !!v))];
}

/**
 * Whether the audit trail holds the erasure `reference` of a pupil at the school (its
 * `subject.erased` entry): what an erased pupil is known by, their id being nowhere.
 */
export async function erasureAudited(db: Queryable, schoolId: string, reference: string): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM audit_entries WHERE action = 'subject.erased' AND school_id = $1 AND entity_type = 'pupil'
       AND entity_id = $2 LIMIT 1`,
    [schoolId, reference],
  );
  return rows.length > 0;
}
