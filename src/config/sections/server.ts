import * as z from 'zod';
import { adminPassword, folderPath, NO_ECHO, type SecretField, settingId } from '../../core/settings.ts';

const redisUrl = z
  .url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' })
  // An unparseable URL is already refused above (its user and password masked in the message).
  .refine((u) => !URL.canParse(u) || new URL(u).password === '', {
    error: 'put the Redis password in redis.password as ${ENV_NAME} or file:/path, not in the URL',
    params: { [NO_ECHO]: true },
  });

/** The services Doorstep runs on: Redis, the store, the HTTP server, queues, shutdown and heartbeat. */
export function serverSettings(secret: SecretField) {
  return {
    redis: z
      .strictObject({
        url: redisUrl.default('redis://127.0.0.1:6379'),
        password: secret().optional(),
        /** Key prefix for every BullMQ key, so several deployments can share one Redis. */
        prefix: settingId.default('doorstep'),
      })
      .default({ url: 'redis://127.0.0.1:6379', prefix: 'doorstep' }),
    store: z
      .strictObject({
        /** PGlite data folder, used when DATABASE_URL is not set. */
        dataDir: folderPath.default('./data/pglite'),
        /** PostgreSQL schema for every table (search_path); created at start if absent. */
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, {
            error: 'expected a schema name of lower-case letters, digits and _',
          })
          .default('public'),
      })
      .default({ dataDir: './data/pglite', schema: 'public' }),
    http: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.int().min(0).max(65535).default(8080),
        /** bull-board at /admin/queues; absent means the admin UI is not served at all. */
        admin: z.strictObject({ username: z.string().min(1), password: adminPassword(secret) }).optional(),
        /** What a Prometheus scraper not on this machine sends (Bearer); absent: /metrics to local probes only. */
        metricsToken: secret().optional(),
        /** How long a sign-in lasts (a school day by default). */
        sessionHours: z.number().min(0.25).max(72).default(12),
        /** `auto`: Secure cookies when the request came over https (set trustProxy behind a TLS proxy). */
        secureCookies: z.union([z.boolean(), z.literal('auto')]).default('auto'),
        /** Trust X-Forwarded-* from the reverse proxy in front (TLS termination). */
        trustProxy: z.boolean().default(false),
        /** Where people reach Doorstep (e.g. https://doorstep.trust.example): links in e-mails. */
        publicUrl: z
          .url({ protocol: /^https?$/, error: 'expected the http(s) URL people open Doorstep at' })
          .optional(),
        /** Failed sign-ins before an account locks, and for how many minutes. */
        lockout: z
          .strictObject({
            maxFailures: z.int().min(3).max(20).default(5),
            minutes: z.int().min(1).max(1440).default(15),
            /** Sign-in attempts per minute from one IP address, any account. */
            perAddressPerMinute: z.int().min(5).max(1000).default(30),
          })
          .default({ maxFailures: 5, minutes: 15, perAddressPerMinute: 30 }),
      })
      .default({
        host: '127.0.0.1',
        port: 8080,
        sessionHours: 12,
        secureCookies: 'auto',
        trustProxy: false,
        lockout: { maxFailures: 5, minutes: 15, perAddressPerMinute: 30 },
      }),
    /**
     * BullMQ worker settings: how soon a job whose process died is picked up again; and where the
     * `worker` role's jobs (imports, trigger evaluation, records, maintenance) run when that role
     * shares a `doorstep start` with `web` or `ingest`: in a child process of their own at a lower
     * CPU priority (`separate`, PostgreSQL only: PGlite is one process's) or in the same process.
     */
    queue: z
      .strictObject({
        lockDurationMs: z.int().min(1000).max(600_000).default(30_000),
        stalledIntervalMs: z.int().min(500).max(600_000).default(30_000),
        /** How often each process checks its repeating jobs are still in Redis (and puts back any lost). */
        scheduleCheckMs: z.int().min(100).max(600_000).default(30_000),
        workerProcess: z.enum(['separate', 'same']).default('separate'),
        /** The child's niceness (0–19; higher yields the CPU to the board and the alarm path). */
        workerNice: z.int().min(0).max(19).default(10),
        /**
         * Where background work runs — the worker process and password hashing: `leave-first` keeps
         * it off the first core this process may use, so the alarm path and the database always have
         * one (Linux, with util-linux's `taskset`; elsewhere nothing is pinned); `any` lets it use
         * every core.
         */
        backgroundCores: z.enum(['leave-first', 'any']).default('leave-first'),
      })
      .default({
        lockDurationMs: 30_000,
        stalledIntervalMs: 30_000,
        scheduleCheckMs: 30_000,
        workerProcess: 'separate',
        workerNice: 10,
        backgroundCores: 'leave-first',
      }),
    /**
     * How an import writes its marks: in groups of `chunkMarks` marks as the file is read (still
     * one transaction: a file is applied whole or not at all), pausing `pauseRatio` × the group's own
     * write time after each. On PostgreSQL every commit waits for the write-ahead log to be flushed up to
     * it — an import's log included — so an unpaced 760k-mark upsert holds the alarm path's commits
     * behind hundreds of MB of log; paced, a commit finds at most one chunk's. `pauseRatio: 0` writes
     * as fast as the database takes it.
     */
    imports: z
      .strictObject({
        chunkMarks: z.int().min(500).max(10_000_000).default(5000),
        pauseRatio: z.number().min(0).max(10).default(4),
      })
      .default({ chunkMarks: 5000, pauseRatio: 4 }),
    shutdown: z
      .strictObject({ deadlineMs: z.int().min(100).max(60_000).default(8000) })
      .default({ deadlineMs: 8000 }),
    heartbeat: z
      .strictObject({
        everyMs: z.int().min(1000).default(60_000),
        /**
         * A dead man's switch outside Doorstep (e.g. a healthchecks.io ping URL), as a secret ref
         * (the URL is the credential): every beat that reached the store pings it (GET), so the
         * service alerts someone when the beats stop. Absent: nothing is pinged.
         */
        deadManUrl: secret().optional(),
      })
      .default({ everyMs: 60_000 }),
  };
}
