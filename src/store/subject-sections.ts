/**
 * What Doorstep holds about a person, table by table: the selectors subject access, rectification
 * and erasure use. `test/store/subject.test.ts` checks the list against the schema, so a new table with
 * a pupil_mis_id, staff_id or user id column fails the tests until it is listed here.
 */

export type SubjectKind = 'pupil' | 'staff';

/**
 * The ids a subject's rows are found by. Selectors use these parameters: $1 school id, $2 pupil MIS
 * id (pupil) or account id as text (staff), $3 staff id (staff; may be null).
 */
export interface Section {
  table: string;
  /** What the section is, for the readable page. */
  title: string;
  pupil?: string;
  staff?: string;
  /** Columns never exported (secrets: password hashes, session tokens). */
  withhold?: readonly string[];
  order?: string;
}

export const PUPIL_VISITS = `SELECT id FROM visits WHERE school_id = $1 AND pupil_mis_id = $2`;
export const PUPIL_ALARMS = `SELECT id FROM alarms WHERE visit_id IN (${PUPIL_VISITS})`;
export const PUPIL_EPISODES = `SELECT id FROM trigger_episodes WHERE school_id = $1 AND pupil_mis_id = $2`;
export const PUPIL_RECORDS = `SELECT id FROM outbox WHERE school_id = $1 AND pupil_ids @> jsonb_build_array($2::text)`;
export const ACTOR = `ANY(ARRAY['user:' || $2, $2])`;
export const STAFF_VISITS = `SELECT id FROM visits WHERE $2::bigint IN (requested_by, authorised_by, lead_user_id, partner_user_id)`;
/** A staff id is the school's device registry's (another school's may give it to someone else): matched within the school. */
export const STAFF_ALARMS = `SELECT id FROM alarms WHERE (school_id = $1 AND staff_id = $3) OR acknowledged_by = ${ACTOR} OR resolved_by = ${ACTOR}`;

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
export const STAFF_AUDIT = `actor = ${ACTOR} OR (entity_type = 'user' AND entity_id = $2)
  OR (entity_type = 'alarm' AND entity_id IN (SELECT id::text FROM (${STAFF_ALARMS}) x))`;

export const SECTIONS: readonly Section[] = [
  {
    table: 'pupils',
    title: 'Pupil details from the MIS',
    pupil: 'school_id = $1 AND mis_id = $2',
  },
  { table: 'pupil_contacts', title: 'Family contacts', pupil: 'school_id = $1 AND pupil_mis_id = $2' },
  {
    table: 'attendance_marks',
    title: 'Attendance marks',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    order: 'date, session',
  },
  {
    table: 'leave_refusals',
    title: 'Refused term-time leave',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    staff: `recorded_by = ${ACTOR}`,
  },
  { table: 'trigger_episodes', title: 'Visit triggers', pupil: 'school_id = $1 AND pupil_mis_id = $2' },
  {
    table: 'visits',
    title: 'Home visits',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    staff: `id IN (${STAFF_VISITS}) OR back_safe_by = ${ACTOR} OR follow_up_done_by = ${ACTOR} OR risk_assessed_by = ${ACTOR}`,
  },
  {
    table: 'follow_ups',
    title: 'Follow-up actions from visit outcomes',
    pupil: 'school_id = $1 AND pupil_mis_id = $2',
    staff: 'done_by = $2::bigint',
  },
  {
    table: 'visit_check_ins',
    title: 'Visit check-ins',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: 'by_user_id = $2::bigint',
  },
  {
    table: 'visit_return_changes',
    title: 'Changed return times',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: 'by_user_id = $2::bigint',
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
  },
  {
    table: 'alarm_timeline',
    title: 'Alarm timelines',
    pupil: `alarm_id IN (${PUPIL_ALARMS})`,
    staff: `alarm_id IN (${STAFF_ALARMS}) OR by_whom = ${ACTOR}`,
  },
  {
    table: 'notifications',
    title: 'Notifications sent for alarms',
    pupil: `alarm_id IN (${PUPIL_ALARMS})`,
    staff: `alarm_id IN (${STAFF_ALARMS})`,
  },
  {
    table: 'notification_recipients',
    title: 'Notification receipts per recipient',
    pupil: `notification_id IN (SELECT id FROM notifications WHERE alarm_id IN (${PUPIL_ALARMS}))`,
    staff: `notification_id IN (SELECT id FROM notifications WHERE alarm_id IN (${STAFF_ALARMS}))`,
  },
  {
    table: 'notices',
    title: 'Notices sent about visits (e.g. child not seen)',
    pupil: `visit_id IN (${PUPIL_VISITS})`,
    staff: `visit_id IN (${STAFF_VISITS})`,
  },
  {
    table: 'sms_replies',
    title: 'Replies to alarm SMS',
    pupil: `alarm_id IN (${PUPIL_ALARMS})`,
    staff: 'user_id = $2::bigint',
  },
  {
    table: 'outbox',
    title: 'Records sent to CPOMS / Arbor (with their remote ids)',
    pupil: 'school_id = $1 AND pupil_ids @> jsonb_build_array($2::text)',
  },
  {
    table: 'imports',
    title: 'Imports that changed this pupil’s marks (or reported their marks on closed days)',
    pupil: `school_id = $1 AND (changed_pupils @> jsonb_build_array($2::text)
      OR calendar_problems @> jsonb_build_array(jsonb_build_object('pupil', $2::text)))`,
  },
  {
    table: 'board_events',
    title: 'Office board events',
    pupil: `school_id = $1 AND (payload->>'pupilMisId' = $2 OR payload->>'pupilId' = $2
      OR payload->>'visitId' IN (SELECT id::text FROM (${PUPIL_VISITS}) x)
      OR payload->>'alarmId' IN (SELECT id::text FROM (${PUPIL_ALARMS}) x))`,
    staff: `(school_id = $1 AND payload->>'staffId' = $3) OR payload->>'alarmId' IN (SELECT id::text FROM (${STAFF_ALARMS}) x)`,
  },
  {
    table: 'address_flags',
    title: 'Address flags recorded',
    staff: `created_by = ${ACTOR}`,
  },
  {
    table: 'alerts',
    title: 'Alerts acknowledged',
    staff: `acknowledged_by = ${ACTOR}`,
  },
  {
    table: 'users',
    title: 'Account',
    staff: 'id = $2::bigint OR staff_id = $3',
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
  },
];
