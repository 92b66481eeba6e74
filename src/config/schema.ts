import * as z from 'zod';
import { DEFAULT_MARK_COLUMNS, DEFAULT_PUPIL_COLUMNS } from '../../connectors/mis/row-mapping.ts';
import { cpomsWireSettings, DEFAULT_CPOMS_WIRE } from '../../connectors/records/cpoms/wire.ts';
import type { Secret } from '../core/secret.ts';
import { CODES } from '../domain/attendance/codes.ts';
import { escalationPolicy } from '../domain/escalation/ladder.ts';
import { FOB_EVENT_TYPES } from '../domain/fob/event.ts';
import { deviceLevel } from '../domain/fob/topics.ts';
import { parseSecretRef, resolveSecretRef, type SecretSources } from './secret.ts';

/**
 * The Doorstep configuration: one trust, its schools, and the services it runs on.
 * Objects are strict (an unknown key is an error, never ignored) and every default is written
 * here, so a value that is present but wrong always fails rather than falling back.
 * The schema is built per load because secret references are resolved while validating, so a
 * missing `${ENV}` or unreadable `file:` is reported with its YAML path and line like any other error.
 */

/** Marks an issue whose input must not be echoed back (it may be a credential). */
export const NO_ECHO = 'noEcho';

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'expected an id of lower-case letters, digits and "-"' });

const httpsUrl = z.url({ protocol: /^https$/, error: 'expected an https URL' });
const mqttUrl = z.url({
  protocol: /^(mqtt|mqtts|ws|wss)$/,
  error: 'expected an mqtt://, mqtts://, ws:// or wss:// URL',
});
const redisUrl = z
  .url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' })
  .refine((u) => new URL(u).password === '', {
    error: 'put the Redis password in redis.password as ${ENV_NAME} or file:/path, not in the URL',
    params: { [NO_ECHO]: true },
  });

function secret(sources: SecretSources) {
  return z.string().transform((text, ctx): Secret => {
    const ref = parseSecretRef(text);
    if (!ref) {
      ctx.issues.push({
        code: 'custom',
        input: text,
        params: { [NO_ECHO]: true },
        message: 'secrets must be a reference, ${ENV_NAME} or file:/path, never the value itself',
      });
      return z.NEVER;
    }
    const resolved = resolveSecretRef(ref, sources);
    if (!resolved.ok) {
      ctx.issues.push({ code: 'custom', input: text, params: { [NO_ECHO]: true }, message: resolved.reason });
      return z.NEVER;
    }
    return resolved.secret;
  });
}

const folder = z.string().min(1, { error: 'expected a folder path' });

export function buildConfigSchema(sources: SecretSources) {
  const pupilColumns = z.strictObject(
    Object.fromEntries(
      Object.keys(DEFAULT_PUPIL_COLUMNS).map((k) => [k, z.string().min(1).optional()]),
    ) as Record<keyof typeof DEFAULT_PUPIL_COLUMNS, z.ZodOptional<z.ZodString>>,
  );
  const markColumns = z.strictObject(
    Object.fromEntries(
      Object.keys(DEFAULT_MARK_COLUMNS).map((k) => [k, z.string().min(1).optional()]),
    ) as Record<keyof typeof DEFAULT_MARK_COLUMNS, z.ZodOptional<z.ZodString>>,
  );
  const dropFolderMis = (kind: 'sims-xml' | 'ctf' | 'csv') =>
    z.strictObject({
      kind: z.literal(kind),
      /** Export files dropped here are imported, then moved to `processed/` or `quarantine/`. */
      dropFolder: folder,
      /** Text encoding when the file has no BOM/declaration: Excel CSVs are often windows-1252. */
      encoding: z.enum(['utf-8', 'windows-1252']).default('utf-8'),
      /** Column captions of the school's own report, where they differ from the defaults. */
      columns: z
        .strictObject({ pupils: pupilColumns.default({}), marks: markColumns.default({}) })
        .default({ pupils: {}, marks: {} }),
    });

  const mis = z.discriminatedUnion('kind', [
    dropFolderMis('sims-xml'),
    dropFolderMis('ctf'),
    dropFolderMis('csv'),
    z.strictObject({
      kind: z.literal('arbor'),
      baseUrl: httpsUrl,
      username: z.string().min(1),
      password: secret(sources),
    }),
    z.strictObject({
      kind: z.literal('wonde'),
      baseUrl: httpsUrl.default('https://api.wonde.com/v1.0'),
      schoolId: z.string().min(1),
      token: secret(sources),
    }),
  ]);

  /** https, or plain http to this machine only (a local relay, or the fake CPOMS in tests). */
  const sinkUrl = z.url({ error: 'expected an https URL' }).refine(
    (u) => {
      const url = new URL(u);
      return (
        url.protocol === 'https:' ||
        (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
      );
    },
    { error: 'expected an https URL (http only for localhost)' },
  );
  const categories = z
    .strictObject({
      trigger_note: z.string().min(1).default('Attendance'),
      visit_outcome: z.string().min(1).default('Home visit'),
      lone_worker_incident: z.string().min(1).default('Lone working'),
    })
    .default({
      trigger_note: 'Attendance',
      visit_outcome: 'Home visit',
      lone_worker_incident: 'Lone working',
    });
  const delivery = {
    /** Records per second to this school's host (shared by every Doorstep process). */
    ratePerSecond: z.number().positive().max(1000).default(5),
    timeoutMs: z.int().min(100).max(120_000).default(15_000),
  };
  const records = z.discriminatedUnion('sink', [
    z.strictObject({ sink: z.literal('preview'), categories }),
    z.strictObject({
      sink: z.literal('cpoms'),
      baseUrl: sinkUrl,
      token: secret(sources),
      categories,
      wire: cpomsWireSettings.default(DEFAULT_CPOMS_WIRE),
      ...delivery,
    }),
    z.strictObject({
      sink: z.literal('arbor-pastoral'),
      baseUrl: sinkUrl,
      username: z.string().min(1),
      password: secret(sources),
      categories,
      ...delivery,
    }),
  ]);

  const fobProfile = z.enum(['peoplesafe-style', 'blackline', 'generic']);
  /** For the generic profile: JSON pointers to each field, and the vendor's type values. */
  const genericMapping = z.strictObject({
    fields: z.strictObject({
      deviceId: z.string().startsWith('/'),
      vendorEventId: z.string().startsWith('/'),
      type: z.string().startsWith('/'),
      occurredAt: z.string().startsWith('/'),
      lat: z.string().startsWith('/').optional(),
      lon: z.string().startsWith('/').optional(),
      accuracyM: z.string().startsWith('/').optional(),
      fixAt: z.string().startsWith('/').optional(),
      batteryPercent: z.string().startsWith('/').optional(),
      message: z.string().startsWith('/').optional(),
      voiceNoteUrl: z.string().startsWith('/').optional(),
    }),
    types: z.record(z.string(), z.enum(FOB_EVENT_TYPES)).default({}),
  });
  const profileFields = {
    profile: fobProfile.default('peoplesafe-style'),
    mapping: genericMapping.optional(),
  };
  const needsMapping = (t: { profile: string; mapping?: unknown }) =>
    t.profile !== 'generic' || t.mapping !== undefined;
  const mappingError = {
    error: 'the generic profile needs a mapping (fields as JSON pointers, and types)',
    path: ['mapping'],
  };
  const fobTransport = z.discriminatedUnion('kind', [
    z
      .strictObject({
        kind: z.literal('mqtt'),
        url: mqttUrl,
        username: z.string().min(1).optional(),
        password: secret(sources).optional(),
        /**
         * Topic filters. The level that names the device is written `{device}` (subscribed as `+`), or
         * is the filter's only `+`: the device is then the one the topic names, which the broker's ACL
         * lets only the school's gateway publish on — a payload naming another device is not trusted.
         */
        topics: z.array(z.string().min(1)).min(1, { error: 'expected at least one topic filter' }),
        /** `topic` (default): the device is the topic's; `none`: the gateway's topics do not name devices. */
        deviceBinding: z.enum(['topic', 'none']).default('topic'),
        /** Seconds without a connection before the board says alarms are not arriving (a take-over: at once). */
        disconnectAlertSeconds: z.int().min(1).max(600).default(20),
        /** Stable per instance (the broker keeps its session); DOORSTEP_INSTANCE is appended when set. */
        clientId: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .optional(),
        /** Subscribe as `$share/doorstep/<filter>` so several Doorstep instances share the load. */
        shared: z.boolean().default(false),
        /** Connections per instance (with `shared`): each handles its messages in order, so more connections, more alarms per second. */
        connections: z.int().min(1).max(64).default(1),
        sessionExpirySeconds: z
          .int()
          .min(60)
          .max(7 * 86400)
          .default(86400),
        tls: z
          .strictObject({ ca: folder.optional(), cert: folder.optional(), key: folder.optional() })
          .optional(),
        ...profileFields,
      })
      .refine(needsMapping, mappingError)
      .superRefine((t, ctx) => {
        if (t.deviceBinding === 'none') return;
        t.topics.forEach((f, i) => {
          if (deviceLevel(f) === null)
            ctx.addIssue({
              code: 'custom',
              path: ['topics', i],
              input: f,
              message:
                'expected a filter whose device level is {device} or its only + (e.g. doorstep/<school>/fobs/{device}/events), or deviceBinding: none',
            });
        });
      }),
    z
      .strictObject({
        kind: z.literal('webhook'),
        /** Standard Webhooks secrets (`whsec_…`), several during a key rotation. */
        secret: secret(sources),
        previousSecret: secret(sources).optional(),
        maxBytes: z.int().min(256).max(1_048_576).default(65_536),
        ...profileFields,
      })
      .refine(needsMapping, mappingError),
  ]);

  const fobs = z.strictObject({
    transports: z.array(fobTransport).default([]),
    devices: z
      .array(
        z.strictObject({
          deviceId: z.string().min(1).max(128),
          staffId: z.string().min(1),
          /** Key the device (or its gateway) signs each payload with (peoplesafe-style signing). */
          signingKey: secret(sources).optional(),
        }),
      )
      .default([]),
    /** Refuse any non-alarm event not signed by its device (alarms are raised anyway, flagged). */
    requireSignedEvents: z.boolean().default(false),
    /** A device time further ahead of Doorstep's than this is not believed (seconds). */
    maxClockSkewSeconds: z.int().min(0).max(3600).default(120),
  });

  const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time as HH:MM (24-hour)' });
  const attendance = z.strictObject({
    /** Local (e.g. SIMS 8 multi-character) code → statutory code. */
    codeMap: z
      .record(z.string().min(1).max(8), z.string())
      .superRefine((map, ctx) => {
        for (const [from, to] of Object.entries(map)) {
          if (!CODES.has(to)) {
            ctx.addIssue({
              code: 'custom',
              path: [from],
              input: to,
              message: `expected a statutory code for "${from}"`,
            });
          }
        }
      })
      .default({}),
    /**
     * Academic years (by starting year, 2025 = 2025/26) whose marks are accepted; others are
     * rejected rows. Default: the current and the previous academic year.
     */
    academicYears: z.array(z.int().min(2024).max(2100)).min(1).optional(),
    /** When the scheduled sync runs on school days (Mon–Fri), Europe/London. */
    syncAt: z.array(hhmm).min(1).default(['10:30', '14:30']),
  });

  const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date as YYYY-MM-DD' });
  const calendar = z.strictObject({
    /** Term dates (first and last day); include last year's terms for year-on-year patterns. */
    terms: z.array(z.strictObject({ start: isoDate, end: isoDate })).default([]),
    /** Days inside terms when pupils are not in: INSET days, bank holidays, closures. */
    closures: z
      .array(
        z.strictObject({
          from: isoDate,
          to: isoDate.optional(),
          kind: z.enum(['inset', 'bank-holiday', 'closure']),
          note: z.string().optional(),
        }),
      )
      .default([]),
  });

  const school = z.strictObject({
    id,
    name: z.string().min(1),
    urn: z
      .string()
      .regex(/^\d{6}$/, { error: 'expected a 6-digit URN (quote it in YAML)' })
      .optional(),
    timezone: z.literal('Europe/London', { error: 'expected "Europe/London"' }).default('Europe/London'),
    /** The office's number, printed on the "sorry you weren't in" slip. */
    phone: z
      .string()
      .regex(/^[+\d][\d ]{6,19}$/, { error: 'expected a phone number such as 01632 960123' })
      .optional(),
    mis,
    records,
    fobs: fobs.default({ transports: [], devices: [], requireSignedEvents: false, maxClockSkewSeconds: 120 }),
    policies: z.array(id).min(1, { error: 'expected at least one policy pack (e.g. statutory)' }),
    escalation: z.record(id, escalationPolicy).default({}),
    /** Who escalation targets reach: `sms:on-call-leaders` → each phone in the group. */
    contacts: z
      .record(
        id,
        z.array(
          z.strictObject({
            name: z.string().min(1),
            phone: z
              .string()
              .regex(/^\+[1-9]\d{6,14}$/, { error: 'expected an E.164 phone number such as +447700900123' })
              .optional(),
            email: z.email().optional(),
          }),
        ),
      )
      .default({}),
    /** Notification channels; a target whose channel is not configured fails loudly. */
    channels: z
      .strictObject({
        sms: z
          .strictObject({
            baseUrl: sinkUrl.default('https://api.twilio.com'),
            accountSid: z.string().min(1),
            authToken: secret(sources),
            from: z.string().min(1),
          })
          .optional(),
        email: z
          .strictObject({
            smtpUrl: z.url({ protocol: /^smtps?$/ }),
            username: z.string().optional(),
            password: secret(sources).optional(),
            from: z.string().min(3),
          })
          .optional(),
        teams: z.strictObject({ url: secret(sources) }).optional(),
        'google-chat': z.strictObject({ url: secret(sources) }).optional(),
        webhook: z.strictObject({ url: sinkUrl, secret: secret(sources) }).optional(),
      })
      .default({}),
    attendance: attendance.default({ codeMap: {}, syncAt: ['10:30', '14:30'] }),
    calendar: calendar.default({ terms: [], closures: [] }),
    triggers: z
      .strictObject({
        /** `pack:rule` → numbers to change, e.g. `heath-lane:absent-3-days: { days: 4 }`. */
        overrides: z
          .record(z.string(), z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])))
          .default({}),
        /** Nightly full evaluation, Europe/London. */
        nightlyAt: z
          .string()
          .regex(/^([01]\d|2[0-3]):[0-5]\d$/)
          .default('02:30'),
      })
      .default({ overrides: {}, nightlyAt: '02:30' }),
  });

  return z
    .strictObject({
      trust: z.strictObject({ id, name: z.string().min(1) }),
      redis: z
        .strictObject({
          url: redisUrl.default('redis://127.0.0.1:6379'),
          password: secret(sources).optional(),
          /** Key prefix for every BullMQ key, so several deployments can share one Redis. */
          prefix: id.default('doorstep'),
        })
        .default({ url: 'redis://127.0.0.1:6379', prefix: 'doorstep' }),
      store: z
        .strictObject({
          /** PGlite data folder, used when DATABASE_URL is not set. */
          dataDir: folder.default('./data/pglite'),
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
          admin: z.strictObject({ username: z.string().min(1), password: secret(sources) }).optional(),
          /** How long a sign-in lasts (a school day by default). */
          sessionHours: z.number().min(0.25).max(72).default(12),
          /** `auto`: Secure cookies when the request came over https (set trustProxy behind a TLS proxy). */
          secureCookies: z.union([z.boolean(), z.literal('auto')]).default('auto'),
          /** Trust X-Forwarded-* from the reverse proxy in front (TLS termination). */
          trustProxy: z.boolean().default(false),
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
      /** BullMQ worker settings: how soon a job whose process died is picked up again. */
      queue: z
        .strictObject({
          lockDurationMs: z.int().min(1000).max(600_000).default(30_000),
          stalledIntervalMs: z.int().min(500).max(600_000).default(30_000),
        })
        .default({ lockDurationMs: 30_000, stalledIntervalMs: 30_000 }),
      shutdown: z
        .strictObject({ deadlineMs: z.int().min(100).max(60_000).default(8000) })
        .default({ deadlineMs: 8000 }),
      heartbeat: z.strictObject({ everyMs: z.int().min(1000).default(60_000) }).default({ everyMs: 60_000 }),
      /** Folder of policy packs (`<id>.yaml`). */
      policiesDir: folder.default('./config/policies'),
      schools: z.array(school).min(1, { error: 'expected at least one school' }),
    })
    .superRefine((cfg, ctx) => {
      const seen = new Map<string, number>();
      cfg.schools.forEach((s, i) => {
        const first = seen.get(s.id);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['schools', i, 'id'],
            input: s.id,
            message: `duplicate school id (also schools[${first}].id)`,
          });
        } else seen.set(s.id, i);
      });
    });
}

export type DoorstepConfig = z.output<ReturnType<typeof buildConfigSchema>>;
export type SchoolConfig = DoorstepConfig['schools'][number];
