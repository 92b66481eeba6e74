import * as z from 'zod';
import { DELIVERY_JOB_TIMEOUT_MS } from '../../connectors/records/settings.ts';

/**
 * The job catalog: every job Doorstep runs, with its payload schema, queue, retries and timeout.
 * Producers validate against it before enqueueing and workers validate again before running, so a
 * payload that does not match is refused at both ends. Payloads carry ids only, never personal data.
 */
export type Role = 'web' | 'ingest' | 'worker';
/** How many changed pupils one `evaluate-triggers` job of an import evaluates. */
export const EVALUATION_CHUNK = 10_000;

export const ROLES: readonly Role[] = ['web', 'ingest', 'worker'];

export interface QueueSpec {
  /** The `doorstep start --role` that runs this queue's workers. */
  role: Role;
  concurrency: number;
}

export interface JobSpec<Payload extends z.ZodType = z.ZodType> {
  queue: string;
  description: string;
  payload: Payload;
  /** Total tries, the first included. */
  attempts: number;
  backoff: { type: 'exponential' | 'fixed'; delayMs: number };
  /**
   * The handler is aborted after this long and the try counts as failed — once the handler has
   * stopped, or after a short grace if it does not (worker-host's letGoAfterMs): its retry may then
   * run beside one that hangs.
   */
  timeoutMs: number;
}

export interface Catalog {
  queues: Record<string, QueueSpec>;
  jobs: Record<string, JobSpec>;
}

export function defineJob<P extends z.ZodType>(spec: JobSpec<P>): JobSpec<P> {
  return spec;
}

const schoolId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);

export const catalog = {
  queues: {
    /** Housekeeping: heartbeat; later nightly runs. Heavy work never shares the alarm path. */
    maintenance: { role: 'worker', concurrency: 1 },
    /** MIS syncs and file imports: heavy, batch-shaped, never on the alarm path. */
    imports: { role: 'worker', concurrency: 2 },
    /** Lone-worker alarms: the latency-critical path, run by the ingest role only. */
    alarms: { role: 'ingest', concurrency: 16 },
    /** Notifications to people (board, SMS, e-mail, chat): a failing channel never blocks the others. */
    notify: { role: 'ingest', concurrency: 16 },
    /** Outbound records to CPOMS / Arbor: many at once, each host rate-limited. */
    records: { role: 'worker', concurrency: 8 },
    /** Trigger evaluation after imports, and nightly.*/
    triggers: { role: 'worker', concurrency: 1 },
  },
  jobs: {
    heartbeat: defineJob({
      queue: 'maintenance',
      description: 'Proves the queue → worker → store path works end to end; writes an audit entry.',
      payload: z.strictObject({
        /** Who scheduled it: `scheduler` for the repeating one, or a CLI/test label. */
        source: z.string().min(1).max(64),
        schoolId: schoolId.optional(),
      }),
      attempts: 3,
      backoff: { type: 'exponential', delayMs: 2000 },
      timeoutMs: 10_000,
    }),
    'sync-attendance': defineJob({
      queue: 'imports',
      description:
        "Pulls one school's MIS (API since its cursor, or the files in its drop folder) into the attendance store.",
      payload: z.strictObject({
        schoolId,
        reason: z.enum(['schedule', 'drop-folder', 'manual']),
        /**
         * Set on the school's one de-duplicated sync job a scheduled run hands over to (a job
         * scheduler's jobs cannot carry a de-duplication id): absent on the scheduler's own job.
         */
        handedOver: z.literal(true).optional(),
      }),
      attempts: 5,
      backoff: { type: 'exponential', delayMs: 30_000 },
      timeoutMs: 30 * 60_000,
    }),
    'evaluate-triggers': defineJob({
      queue: 'triggers',
      description:
        'Re-evaluates visit triggers: for an import, exactly the pupils whose marks it changed (read from the import by chunk); nightly and by hand, every pupil of the school.',
      // No pupil ids: they are personal data (a CTF pupil's id is the UPN) and would sit in Redis and
      // on the queue dashboard. An import's changed pupils are read from its row.
      payload: z.strictObject({
        schoolId,
        importId: z.string().regex(/^\d+$/).optional(),
        /** Which EVALUATION_CHUNK-sized slice of the import's changed pupils (0 first). */
        chunk: z.number().int().min(0).max(1000).optional(),
        /**
         * Only in a job an earlier version queued (still waiting, or retried, across an upgrade): its
         * pupils, evaluated as then — never written now. Refusing it would drop the evaluation of an
         * import already marked handed over until the nightly run.
         */
        pupilIds: z.array(z.string().min(1).max(64)).max(100_000).optional(),
        reason: z.enum(['import', 'nightly', 'manual']),
      }),
      attempts: 5,
      backoff: { type: 'exponential', delayMs: 10_000 },
      timeoutMs: 10 * 60_000,
    }),
    'deliver-record': defineJob({
      queue: 'records',
      description: 'Delivers one outbox record to its sink under its idempotency key.',
      payload: z.strictObject({ outboxId: z.string().regex(/^\d+$/) }),
      attempts: 10,
      backoff: { type: 'exponential', delayMs: 2000 },
      // The sinks' config check holds their timeouts within it (connectors/records/settings.ts).
      timeoutMs: DELIVERY_JOB_TIMEOUT_MS,
    }),
    escalate: defineJob({
      queue: 'alarms',
      description:
        "One step of an alarm's escalation ladder; re-reads the alarm and acts only if it still holds.",
      payload: z.strictObject({
        alarmId: z.string().regex(/^\d+$/),
        // As far as the alarm's step column goes (PostgreSQL integer): a ladder that repeats its last
        // level every few seconds must never reach a bound here and fall silent.
        step: z.int().min(0).max(2_147_483_647),
        /** The re-entry after the n-th timed-out acknowledgement (keeps its job id unique). */
        reopened: z.int().min(1).max(10_000).optional(),
      }),
      // 0.5 s, 1 s, 2 s … 64 s: a short blip costs half a second, an outage is ridden out for two
      // minutes; after that, `watch-visits` queues the step again (no ladder ends in silence).
      attempts: 9,
      backoff: { type: 'exponential', delayMs: 500 },
      timeoutMs: 30_000,
    }),
    notify: defineJob({
      queue: 'notify',
      description: 'Sends one notification (alarm × step × target) through its channel, once.',
      payload: z.strictObject({ notificationId: z.string().regex(/^\d+$/) }),
      attempts: 6,
      backoff: { type: 'exponential', delayMs: 1000 },
      timeoutMs: 30_000,
    }),
    'send-notice': defineJob({
      queue: 'notify',
      description:
        'Sends one notice to named people (e.g. a child not seen → the safeguarding team) through its channel, once.',
      payload: z.strictObject({ noticeId: z.string().regex(/^\d+$/) }),
      attempts: 6,
      backoff: { type: 'exponential', delayMs: 1000 },
      timeoutMs: 30_000,
    }),
    'watch-visits': defineJob({
      queue: 'alarms',
      description:
        'Raises overdue-visit and missed-check-in alarms from the visit register, takes in fob check-ins, and reopens acknowledgements that timed out.',
      payload: z.strictObject({ reason: z.enum(['schedule', 'manual']) }),
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 1000 },
      timeoutMs: 60_000,
    }),
    purge: defineJob({
      queue: 'maintenance',
      description:
        "Applies one school's retention: removes what is due in bounded batches and records the counts.",
      payload: z.strictObject({ schoolId, reason: z.enum(['schedule', 'manual']) }),
      attempts: 3,
      backoff: { type: 'exponential', delayMs: 60_000 },
      timeoutMs: 60 * 60_000,
    }),
    'chase-outcomes': defineJob({
      queue: 'maintenance',
      description:
        'Chases visits back without an outcome: the visitors after the school’s time, then the people it names after twice that.',
      payload: z.strictObject({ reason: z.enum(['schedule', 'manual']) }),
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 10_000 },
      timeoutMs: 120_000,
    }),
    'relay-outbox': defineJob({
      queue: 'records',
      description: 'Hands live outbox records that have no delivery job yet to the queue.',
      payload: z.strictObject({ reason: z.enum(['schedule', 'after-write', 'manual']) }),
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 1000 },
      timeoutMs: 60_000,
    }),
  },
} satisfies Catalog;

export type DoorstepCatalog = typeof catalog;
export type JobName<C extends Catalog = DoorstepCatalog> = Extract<keyof C['jobs'], string>;
export type PayloadOf<C extends Catalog, N extends JobName<C>> = z.output<C['jobs'][N]['payload']>;
export type PayloadInput<C extends Catalog, N extends JobName<C>> = z.input<C['jobs'][N]['payload']>;
