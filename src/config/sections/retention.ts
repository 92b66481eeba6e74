import * as z from 'zod';
import { settingId } from '../../core/settings.ts';

/**
 * How long Doorstep keeps each kind of data (the `retention:` section). Doorstep holds working
 * copies: the MIS is the principal record of attendance and of the pupil, CPOMS (or Arbor) of
 * safeguarding notes, visit outcomes and incidents. So its periods are short, and docs/privacy.md
 * ("Retention") says where each default comes from (and which are our own judgement).
 * Every period is in days unless its name says otherwise; a school may set its own under
 * `retention.schools.<id>` (any of the same keys).
 */
export const RETENTION_DEFAULTS = {
  /** Fob events: GPS fixes, raw payloads, messages. Events no alarm or check-in refers to are deleted; the others lose their location and payload. */
  fobEventDays: 31,
  /** Payloads that could not be decoded or were not trusted. */
  rejectedEventDays: 30,
  /** The board's live-stream catch-up log (ids only). */
  boardEventDays: 7,
  /** Notifications sent for an alarm (targets, receipts), once the alarm is resolved. */
  notificationDays: 90,
  /** Resolved alarms with their timelines (the lone-worker incident record itself is in CPOMS). */
  alarmDays: 6 * 366,
  /** Import rows (file names, counts, rejected row positions). */
  importDays: 90,
  /** Files in the drop folder's processed/ and quarantine/ folders (whole MIS exports). */
  dropFileDays: 30,
  /** Attendance marks: the current academic year and this many before it (from 1 September). */
  attendanceAcademicYears: 1,
  /** Closed trigger episodes (the trigger note lives on in CPOMS). */
  closedTriggerDays: 2 * 366,
  /** Completed or cancelled visits, with check-ins and return changes (the outcome is in CPOMS). */
  visitDays: 3 * 366,
  /** The body and title of a record delivered to CPOMS / Arbor (the record lives on there). */
  deliveredRecordBodyDays: 30,
  /**
   * Outbox rows delivered, kept in preview, or dismissed (failed, recorded by hand by a person): a
   * failed record stays until someone sends it again or dismisses it.
   */
  recordDays: 366,
  /** The before/after values of audit entries (the entries themselves keep who, what, when, which). */
  auditDetailDays: 366,
  /** A pupil who left stops being shown (board, pupil search) this long after leaving. */
  leaverShownDays: 28,
  /** A pupil who left: their details (names, address, contacts, flags, marks) are erased this long after leaving. */
  leaverDataDays: 366,
} as const;

export type RetentionKey = keyof typeof RETENTION_DEFAULTS;

/** Each setting as the data page names it for people (the setting's own name is shown beside it). */
export const RETENTION_WORDS: { [K in RetentionKey]: string } = {
  fobEventDays: 'Fob events (locations, raw messages)',
  rejectedEventDays: 'Fob messages that could not be read or trusted',
  boardEventDays: "The board's catch-up log",
  notificationDays: "A resolved alarm's notifications",
  alarmDays: 'Resolved alarms and their timelines',
  importDays: 'Import history',
  dropFileDays: 'Processed and quarantined MIS files',
  attendanceAcademicYears:
    'Attendance marks, and marks held for a later sync (academic years before this one)',
  closedTriggerDays: 'Closed triggers',
  visitDays: 'Completed or cancelled visits',
  deliveredRecordBodyDays: 'The text of records delivered to CPOMS / Arbor, shown in preview, or dismissed',
  recordDays: 'Records delivered, kept in preview or dismissed (a failed one only once dismissed)',
  auditDetailDays: "The audit log's before/after values",
  leaverShownDays: 'A leaver shown on the board and in search',
  leaverDataDays: "A leaver's details and marks",
};
export type RetentionPeriods = { [K in RetentionKey]: number };

const period = (max: number) => z.int().min(0).max(max);
const fields = {
  fobEventDays: period(3660),
  rejectedEventDays: period(3660),
  boardEventDays: period(3660),
  notificationDays: period(36600),
  alarmDays: period(36600),
  importDays: period(3660),
  dropFileDays: period(3660),
  attendanceAcademicYears: period(25),
  closedTriggerDays: period(36600),
  visitDays: period(36600),
  deliveredRecordBodyDays: period(36600),
  recordDays: period(36600),
  auditDetailDays: period(36600),
  leaverShownDays: period(3660),
  leaverDataDays: period(36600),
} satisfies Record<RetentionKey, z.ZodType>;

const withDefaults = Object.fromEntries(
  Object.entries(fields).map(([k, s]) => [k, s.default(RETENTION_DEFAULTS[k as RetentionKey])]),
) as { [K in RetentionKey]: z.ZodDefault<(typeof fields)[K]> };

const leaversInOrder = (r: Partial<RetentionPeriods>, ctx: z.RefinementCtx) => {
  if (
    r.leaverShownDays !== undefined &&
    r.leaverDataDays !== undefined &&
    r.leaverDataDays < r.leaverShownDays
  )
    ctx.addIssue({
      code: 'custom',
      path: ['leaverDataDays'],
      input: r.leaverDataDays,
      message: `expected at least leaverShownDays (${r.leaverShownDays}): a leaver is hidden before being erased`,
    });
};

/** The `retention:` section: trust-wide periods, a school's own, and how much one purge run removes. */
export const retentionSettings = z
  .strictObject({
    ...withDefaults,
    schools: z.record(settingId, z.strictObject(fields).partial().superRefine(leaversInOrder)).default({}),
    /** Rows removed per statement (each batch is its own short transaction). */
    batchSize: z.int().min(10).max(10_000).default(1000),
    /** Rows one run removes per kind at most; the rest waits for the next run. */
    maxRowsPerRun: z.int().min(100).max(10_000_000).default(200_000),
    /** When the nightly purge runs (Europe/London), per school. */
    purgeAt: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected HH:MM' })
      .default('03:15'),
  })
  .superRefine(leaversInOrder)
  .prefault({});

export type RetentionSettings = z.output<typeof retentionSettings>;

/** A school's periods: the trust's, with the school's own on top. */
export function retentionFor(settings: RetentionSettings, schoolId: string): RetentionPeriods {
  const own = settings.schools[schoolId] ?? {};
  const out = {} as RetentionPeriods;
  for (const k of Object.keys(RETENTION_DEFAULTS) as RetentionKey[]) out[k] = own[k] ?? settings[k];
  return out;
}

/** `retention.schools` may only name schools of the config. */
export function checkRetentionSchools(
  cfg: { retention: RetentionSettings; schools: readonly { id: string }[] },
  ctx: z.RefinementCtx,
): void {
  const ids = new Set(cfg.schools.map((s) => s.id));
  for (const id of Object.keys(cfg.retention.schools)) {
    if (!ids.has(id))
      ctx.addIssue({
        code: 'custom',
        path: ['retention', 'schools', id],
        input: id,
        message: `no school "${id}" in schools`,
      });
  }
}
