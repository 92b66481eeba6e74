/**
 * What Doorstep holds about a person, table by table: the selectors subject access, rectification
 * and erasure use. `test/store/subject.test.ts` checks the list against the schema, so a new table with
 * a pupil_mis_id, staff_id or user id column fails the tests until it is listed here.
 */

import { pupilsShareOfImport } from './subject-imports.ts';

export type SubjectKind = 'pupil' | 'staff';

/**
 * What one kind of export gives of a section's rows: the rest is withheld as other people's data
 * (UK GDPR Art. 15(4); DPA 2018 Sch. 2 Part 3 para 16), each withheld value marked and the export
 * saying which columns were withheld and why.
 */
export interface GivenWhere {
  columns: readonly string[];
  when: string;
}

export interface View {
  /** Columns withheld as other people's data. */
  withhold?: readonly string[];
  /** The only columns given (what identifies the record, what the person did); every other one is withheld. */
  give?: readonly string[];
  /**
   * Columns given only on rows where `when` (SQL over the row, same parameters, compared as text)
   * holds; withheld elsewhere. Several: each its own columns and condition.
   */
  givenWhere?: GivenWhere | readonly GivenWhere[];
}

/**
 * The ids a subject's rows are found by. Selectors use these parameters: $1 school id, $2 pupil MIS
 * id (pupil) or account id as text (staff), $3 staff id (staff; may be null). A member of staff's
 * rows are those of the school asked about (`$1`), and their account's own.
 */
export interface Section {
  table: string;
  /** The table behind `table` when that is a view (the marks, kept a month per row). */
  storedIn?: string;
  /** What the section is, for the readable page. */
  title: string;
  pupil?: string;
  staff?: string;
  /** Columns never exported (secrets: password hashes, session tokens, the visit's safe word). */
  withhold?: readonly string[];
  /** A pupil's export (for the family): what is about staff is withheld. Absent: the whole row. */
  pupilView?: View;
  /** A member of staff's export: what is about pupils, families and colleagues is withheld. Absent: the whole row. */
  staffView?: View;
  /**
   * A pupil's export of a row that lists other pupils too: trims its lists to this pupil's entries
   * (`trimmed`: the columns that lost another's), `about` false when nothing of this pupil is left.
   */
  pupilShare?: (row: Record<string, unknown>, pupil: string) => { about: boolean; trimmed: string[] };
  order?: string;
}

export const PUPIL_VISITS = `SELECT id FROM visits WHERE school_id = $1 AND pupil_mis_id = $2`;
export const PUPIL_ALARMS = `SELECT id FROM alarms WHERE visit_id IN (${PUPIL_VISITS})`;
export const PUPIL_EPISODES = `SELECT id FROM trigger_episodes WHERE school_id = $1 AND pupil_mis_id = $2`;
export const PUPIL_RECORDS = `SELECT id FROM outbox WHERE school_id = $1 AND pupil_ids @> jsonb_build_array($2::text)`;
export const ACTOR = `ANY(ARRAY['user:' || $2, $2])`;
export const STAFF_VISITS = `SELECT id FROM visits WHERE school_id = $1 AND $2::bigint IN (requested_by, authorised_by, lead_user_id, partner_user_id, commute_approved_by)`;
/** An alarm raised by their own press of "I need help" on the phone page (`helpAlarmKey`): its position is their phone's. */
const OWN_HELP_PRESS = `dedup_key LIKE 'visit:%:help:' || $2::text || ':%'`;
/**
 * Alarms about them: their device's (a staff id is the school's device registry's — another school's
 * may give it to someone else — so matched within the school), and every alarm of a visit they were
 * out on, lead or partner: an "I need help" from the phone page carries no staff id when they have no
 * fob, and the watcher's overdue and missed check-in alarms carry the lead's alone.
 */
export const STAFF_OWN_ALARMS = `SELECT id FROM alarms WHERE school_id = $1 AND (staff_id = $3 OR ${OWN_HELP_PRESS}
  OR visit_id IN (SELECT id FROM visits WHERE school_id = $1 AND $2::bigint IN (lead_user_id, partner_user_id)))`;
/** Alarms about them, and those they took or resolved. */
export const STAFF_ALARMS = `SELECT id FROM alarms WHERE school_id = $1 AND (id IN (${STAFF_OWN_ALARMS})
  OR acknowledged_by = ${ACTOR} OR resolved_by = ${ACTOR})`;

/** Audit entries about a pupil: the pupil, their marks, episodes, visits, alarms, records, leave refusals. */
export const PUPIL_AUDIT = `
  (entity_type = 'pupil' AND entity_id = $2 AND school_id = $1)
  OR (entity_type = 'attendance_mark' AND school_id = $1 AND starts_with(entity_id, $2 || '/'))
  OR (entity_type = 'trigger_episode' AND entity_id IN (SELECT id::text FROM (${PUPIL_EPISODES}) x))
  OR (entity_type = 'visit' AND entity_id IN (SELECT id::text FROM (${PUPIL_VISITS}) x))
  OR (entity_type = 'alarm' AND entity_id IN (SELECT id::text FROM (${PUPIL_ALARMS}) x))
  OR (entity_type = 'outbox' AND entity_id IN (SELECT id::text FROM (${PUPIL_RECORDS}) x))
  OR (entity_type = 'leave_refusal' AND entity_id IN (
        SELECT id::text FROM leave_refusals WHERE school_id = $1 AND pupil_mis_id = $2))`;
/** Entries they wrote at the school (or for no school), about their account, and about their alarms. */
export const STAFF_AUDIT = `(actor = ${ACTOR} AND (school_id = $1 OR school_id IS NULL))
  OR (entity_type = 'user' AND entity_id = $2)
  OR (entity_type = 'alarm' AND entity_id IN (SELECT id::text FROM (${STAFF_ALARMS}) x))`;

/** A visit's columns that are about what the member of staff did, and its dates (no pupil, family or address). */
const VISIT_REFERENCE = [
  'id',
  'school_id',
  'trigger_episode_id',
  'planned_for',
  'status',
  'requested_by',
  'requested_at',
  'authorised_by',
  'authorised_at',
  'lead_user_id',
  'partner_user_id',
  'departed_at',
  'arrived_at',
  'parent_late_notice_at',
  'parent_late_notice_by',
  'expected_return_at',
  'check_in_minutes',
  'last_check_in_at',
  'returned_at',
  'completed_at',
  'cancelled_at',
  'updated_at',
  'out_of_hours_approved',
  'back_safe_by',
  'follow_up_done_at',
  'follow_up_done_by',
  'risk_assessed_by',
  'risk_assessed_at',
  'appointment_at',
  'follows_visit_id',
  'commute',
  'commute_approved_by',
  'commute_approved_at',
] as const;

/** An alarm's columns that are references and what was done (no free-text note, nobody else's position). */
const ALARM_REFERENCE = [
  'id',
  'school_id',
  'fob_event_id',
  'device_id',
  'staff_id',
  'unknown_device',
  'type',
  'status',
  'raised_at',
  'created_at',
  'policy',
  'escalation_step',
  'acknowledged_at',
  'acknowledged_by',
  'acknowledged_via',
  'resolved_at',
  'resolved_by',
  'resolution_reason',
  'visit_id',
  'dedup_key',
  'next_step_at',
  'trust_issue',
  'resume_step',
  'reopened',
  'test',
] as const;

/** Provider errors can quote a recipient's address or number: never given. */
const NOTIFICATION_ERRORS: View = { withhold: ['last_error'] };

export const SECTIONS: readonly Section[] = [
  {
    table: 'pupils',
    title: 'Pupil details from the MIS',
    pupil: 'school_id = $1 AND mis_id = $2',
  },
  { table: 'pupil_contacts', title: 'Family contacts', pupil: 'school_id = $1 AND pupil_mis_id = $2' },
  {
    table: 'attendance_marks',
    storedIn: 'attendance_months',
    title: 'Attendance marks',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    order: 'date, session',
  },
  {
    table: 'mark_records',
    title: "Which MIS record gave each attendance mark (the MIS's own record ids)",
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    order: 'date, session',
  },
  {
    table: 'held_marks',
    title: 'Attendance marks the MIS sent that could not be applied yet (kept to apply later)',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    order: 'date, session',
  },
  {
    table: 'leave_refusals',
    title: 'Refused term-time leave',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    staff: `school_id = $1 AND recorded_by = ${ACTOR}`,
    staffView: { give: ['id', 'school_id', 'recorded_by', 'recorded_at'] },
  },
  { table: 'trigger_episodes', title: 'Visit triggers', pupil: 'school_id = $1 AND pupil_mis_id = $2' },
  {
    table: 'trigger_actions',
    title: "Triggers' actions recorded done (a phone call home, a meeting …)",
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    // A member of staff: the actions they recorded; what was said is the family's, not theirs.
    staff: `school_id = $1 AND done_by = ${ACTOR}`,
    staffView: { give: ['id', 'school_id', 'episode_id', 'action', 'done_on', 'done_by', 'recorded_at'] },
  },
  {
    table: 'visits',
    title: 'Home visits',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    staff: `school_id = $1 AND (id IN (${STAFF_VISITS}) OR back_safe_by = ${ACTOR} OR follow_up_done_by = ${ACTOR}
      OR risk_assessed_by = ${ACTOR} OR parent_late_notice_by = ${ACTOR})`,
    withhold: ['safe_word'],
    // The lone worker's own safety arrangements: their phone, vehicle, fob, the risk notes for staff
    // and which address flags (staff-safety warnings, never given to the family) the risk was weighed with.
    pupilView: {
      withhold: [
        'worker_phone',
        'vehicle',
        'fob_device_id',
        'fob_device_ids',
        'partner_fob_device_ids',
        'risk_notes',
        'risk_reason',
        'risk_assessed_flags',
      ],
    },
    staffView: {
      give: VISIT_REFERENCE,
      // The phone, vehicle and fobs recorded for the visit are the lead worker's; the partner's fobs theirs.
      givenWhere: [
        {
          columns: ['worker_phone', 'vehicle', 'fob_device_id', 'fob_device_ids'],
          when: 'lead_user_id::text = $2',
        },
        { columns: ['partner_fob_device_ids'], when: 'partner_user_id::text = $2' },
      ],
    },
  },
  {
    table: 'follow_ups',
    title: 'Follow-up actions from visit outcomes',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    staff: 'school_id = $1 AND done_by = $2::bigint',
    staffView: {
      give: ['id', 'school_id', 'visit_id', 'owner', 'due_on', 'created_at', 'done_at', 'done_by'],
    },
  },
  {
    table: 'visit_check_ins',
    title: 'Visit check-ins',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: 'by_user_id = $2::bigint AND visit_id IN (SELECT id FROM visits WHERE school_id = $1)',
  },
  {
    table: 'visit_return_changes',
    title: 'Changed return times',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: 'by_user_id = $2::bigint AND visit_id IN (SELECT id FROM visits WHERE school_id = $1)',
    staffView: { give: ['id', 'visit_id', 'at', 'by_user_id', 'previous_at', 'new_at'] },
  },
  {
    table: 'fob_events',
    title: 'Lone-worker device events',
    staff: 'school_id = $1 AND staff_id = $3',
  },
  {
    table: 'alarms',
    title: 'Alarms',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: `id IN (${STAFF_ALARMS})`,
    // The worker's position and the note on how it ended (an incident names people).
    pupilView: { withhold: ['location', 'resolution_note'] },
    staffView: {
      give: ALARM_REFERENCE,
      // Their own position: their fob's, or their phone's on their own "I need help" — never a partner's.
      givenWhere: { columns: ['location'], when: `school_id = $1 AND (staff_id = $3 OR ${OWN_HELP_PRESS})` },
    },
  },
  {
    table: 'alarm_timeline',
    title: 'Alarm timelines',
    pupil: `alarm_id IN (${PUPIL_ALARMS})`,
    staff: `alarm_id IN (${STAFF_ALARMS}) OR (by_whom = ${ACTOR} AND alarm_id IN (SELECT id FROM alarms WHERE school_id = $1))`,
    // A timeline is about the workers: its words name them and what happened to them ("Sam pressed
    // I need help", their position added, their running-late reason), and who acted is staff. A
    // pupil's export gives when each entry was made, for the DPO to review, as for incident records.
    pupilView: { give: ['id', 'alarm_id', 'at'] },
  },
  {
    table: 'notifications',
    title: 'Notifications sent for alarms',
    pupil: `alarm_id IN (${PUPIL_ALARMS})`,
    staff: `alarm_id IN (${STAFF_ALARMS})`,
    pupilView: NOTIFICATION_ERRORS,
    staffView: NOTIFICATION_ERRORS,
  },
  {
    table: 'notification_recipients',
    title: 'Notification receipts per recipient',
    pupil: `notification_id IN (SELECT id FROM notifications WHERE alarm_id IN (${PUPIL_ALARMS}))`,
    staff: `notification_id IN (SELECT id FROM notifications WHERE alarm_id IN (${STAFF_ALARMS}))`,
    pupilView: { withhold: ['delivery_error'] },
    staffView: { withhold: ['delivery_error'] },
  },
  {
    table: 'notices',
    title: 'Notices sent about visits (e.g. child not seen)',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: `visit_id IN (${STAFF_VISITS})`,
    // Notices are the school's own messages to its staff, and copy staff safety data into their words
    // (the visit-record copy: the worker's names and phone; the incident notice: what happened to the
    // worker): a pupil's export gives their words only for the letter the family was sent itself.
    pupilView: {
      withhold: ['receipts', 'last_error'],
      givenWhere: { columns: ['subject', 'text'], when: `kind = 'family'` },
    },
    staffView: {
      give: [
        'id',
        'school_id',
        'kind',
        'visit_id',
        'target',
        'status',
        'attempts',
        'created_at',
        'sent_at',
        'notice_key',
      ],
    },
  },
  {
    table: 'sms_replies',
    title: 'Replies to alarm SMS',
    pupil: `alarm_id IN (${PUPIL_ALARMS})`,
    staff: 'school_id = $1 AND user_id = $2::bigint',
  },
  {
    table: 'outbox',
    title: 'Records sent to CPOMS / Arbor (with their remote ids)',
    pupil: 'school_id = $1 AND pupil_ids @> jsonb_build_array($2::text)',
    // A member of staff: the lone-worker incident records about their alarms (where they were, what
    // happened to them, how it ended), and those raised from a visit they were out on (an incident
    // of aggression, violence or threat towards them) or that they reported — by the audit entry of
    // its raising, which outlives the visit when its pupil is erased.
    staff: `school_id = $1 AND kind = 'lone_worker_incident' AND (
      (source_type = 'alarm' AND source_id IN (SELECT id::text FROM (${STAFF_OWN_ALARMS}) x))
      OR (source_type = 'visit' AND (
        source_id IN (SELECT id::text FROM visits WHERE school_id = $1 AND $2::bigint IN (lead_user_id, partner_user_id))
        OR source_id IN (SELECT entity_id FROM audit_entries WHERE school_id = $1 AND entity_type = 'visit'
                           AND action = 'visit.concern-raised' AND actor = ${ACTOR}))))`,
    // The record's identity, kind, dates and where it went; its text (the visit's address, the pupil,
    // the people told, the note on how it ended) and pupil ids are other people's, as on the alarm.
    staffView: {
      give: [
        'id',
        'school_id',
        'kind',
        'sink',
        'status',
        'occurred_at',
        'created_at',
        'delivered_at',
        'remote_id',
        'source_type',
        'source_id',
      ],
    },
    // A lone-worker incident record is about the worker (where they were, what was done to them, the
    // ladder's people) and an address flag about the people at an address: their words are withheld
    // from a pupil's export, the record's id, kind, dates and remote id given for the DPO to review.
    pupilView: {
      withhold: ['last_error'],
      givenWhere: {
        columns: ['title', 'body'],
        when: `kind NOT IN ('lone_worker_incident', 'address_flag')`,
      },
    },
  },
  {
    table: 'rejected_events',
    title: 'Fob messages refused (kept 30 days as they came: they may hold a position)',
    // A refused message names no account (it was refused before its device was trusted): those whose
    // text names the person's staff id as a whole quoted value. That can match another wearer's message
    // (a short id, a fob passed on), so only that it was refused, when, how and why is given — the
    // message itself, and where it came from, are withheld.
    staff: `school_id = $1 AND $3::text IS NOT NULL AND strpos(raw, '"' || $3 || '"') > 0`,
    staffView: { give: ['id', 'school_id', 'transport', 'profile', 'reason', 'received_at'] },
  },
  {
    table: 'imports',
    title:
      'Imports that changed this pupil’s marks (or refused their rows, or reported their marks on closed days)',
    // Found as erasure finds them; only this pupil's entries of each list are given (other children's
    // ids and marks are not theirs to see), the import's own facts whole.
    pupil: `school_id = $1 AND (changed_pupils @> jsonb_build_array($2::text)
      OR calendar_problems @> jsonb_build_array(jsonb_build_object('pupil', $2::text))
      OR rejected @> jsonb_build_array(jsonb_build_object('pupil', $2::text))
      OR rejected_causes @> jsonb_build_array(jsonb_build_object('first', jsonb_build_array($2::text))))`,
    pupilShare: pupilsShareOfImport,
  },
  {
    table: 'board_events',
    title: 'Office board events',
    pupil: `school_id = $1 AND (payload->>'pupilMisId' = $2 OR payload->>'pupilId' = $2
      OR payload->>'visitId' IN (SELECT id::text FROM (${PUPIL_VISITS}) x)
      OR payload->>'alarmId' IN (SELECT id::text FROM (${PUPIL_ALARMS}) x))`,
    staff: `school_id = $1 AND (payload->>'staffId' = $3
      OR payload->>'alarmId' IN (SELECT id::text FROM (${STAFF_ALARMS}) x))`,
  },
  {
    table: 'address_flags',
    title: 'Address flags recorded',
    staff: `school_id = $1 AND created_by = ${ACTOR}`,
    // The address and the note are about the people who live there.
    staffView: { give: ['id', 'school_id', 'level', 'created_by', 'created_at'] },
  },
  {
    table: 'alerts',
    title: 'Alerts acknowledged',
    staff: `school_id = $1 AND acknowledged_by = ${ACTOR}`,
    staffView: {
      give: [
        'id',
        'school_id',
        'kind',
        'entity_type',
        'entity_id',
        'created_at',
        'acknowledged_at',
        'acknowledged_by',
      ],
    },
  },
  {
    table: 'users',
    title: 'Account',
    staff: 'id = $2::bigint',
    withhold: ['password_hash'],
  },
  {
    table: 'sessions',
    title: 'Sign-in sessions',
    staff: 'user_id = $2::bigint',
    withhold: ['token_hash', 'csrf_token'],
  },
  {
    table: 'push_subscriptions',
    title: 'Devices that receive alarms by Web Push',
    staff: 'user_id = $2::bigint',
    withhold: ['endpoint', 'p256dh', 'auth'],
  },
  {
    table: 'audit_entries',
    title: 'Audit entries (who, what, when) with their details while kept',
    pupil: PUPIL_AUDIT,
    staff: STAFF_AUDIT,
    // The staff risk assessment's reason is staff safety data (as the visit's risk notes); so are the
    // words approving a worker's way to or from work (where they go from, or home to).
    pupilView: {
      givenWhere: {
        columns: ['before', 'after'],
        when: "action NOT IN ('visit.risk-assessed', 'visit.commute-approved')",
      },
    },
    // What they did is given; the values they changed are about other people, except on their own account.
    staffView: {
      give: ['id', 'at', 'actor', 'action', 'school_id', 'entity_type', 'entity_id'],
      givenWhere: { columns: ['before', 'after'], when: "entity_type = 'user' AND entity_id = $2" },
    },
  },
];
