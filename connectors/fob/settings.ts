import * as z from 'zod';
import {
  addressToken,
  folderPath,
  type SecretField,
  signingKey,
  urlWithoutPassword,
  webhookSecret,
} from '../../src/core/settings.ts';
import { DEVICE_ID_MAX, FOB_EVENT_TYPES } from '../../src/domain/fob/event.ts';
import { deviceLevel } from '../../src/domain/fob/topics.ts';
import { topicFilterProblem } from './mqtt/topic-filter.ts';

const mqttUrl = urlWithoutPassword(
  /^(mqtt|mqtts|ws|wss)$/,
  'expected an mqtt://, mqtts://, ws:// or wss:// URL',
  'password',
);

/** A school's `fobs` section: its transports (MQTT, webhooks) with their vendor profiles, and its devices. */
export function fobsSettings(secret: SecretField) {
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
    /**
     * A type `types` does not map: raised as an SOS, untrusted, naming it (unset or `raise`: when in
     * doubt on the alarm path, raise), bar `notAlarms`; `refuse` opts out (refused, nobody paged).
     */
    unmappedTypes: z.enum(['refuse', 'raise']).optional(),
    /** The vendor types that are no alarm (heartbeats, positions, battery levels): refused quietly. */
    notAlarms: z.array(z.string().min(1).max(100)).max(100).default([]),
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
        password: secret().optional(),
        /**
         * Topic filters. The level that names the device is written `{device}` (subscribed as `+`), or
         * is the filter's only `+`: the device is then the one the topic names, which the broker's ACL
         * lets only the school's gateway publish on — a payload naming another device is not trusted.
         */
        topics: z.array(z.string().min(1)).min(1, { error: 'expected at least one topic filter' }),
        /**
         * `topic` (default): the device is the topic's (each filter must have a device level); `none`: a
         * gateway's topics that name no device — the device is the payload's, as over a webhook (only
         * the broker's ACL on the topic vouches for the gateway; a device signature, where the device
         * has a key, for the device), and a body that cannot be read is raised as an SOS for an
         * unknown device, one open at a time per feed.
         */
        deviceBinding: z.enum(['topic', 'none']).default('topic'),
        /** Seconds without a connection before the board says alarms are not arriving (a take-over: at once). */
        disconnectAlertSeconds: z.int().min(1).max(600).default(20),
        /** Stable per instance (the broker keeps its session); DOORSTEP_INSTANCE is appended when set. */
        clientId: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .optional(),
        /** Subscribe as `$share/<group>/<filter>`, one group per instance (`shareGroup`): its `connections` share the load. */
        shared: z.boolean().default(false),
        /** Connections per instance (with `shared`): each handles its messages in order, so more connections, more alarms per second. */
        connections: z.int().min(1).max(64).default(1),
        /** A message over this is not read: raised as an SOS, unverified (from the topic's device, else an unknown one). */
        maxBytes: z.int().min(256).max(1_048_576).default(65_536),
        sessionExpirySeconds: z
          .int()
          .min(60)
          .max(7 * 86400)
          .default(86400),
        tls: z
          .strictObject({
            ca: folderPath.optional(),
            cert: folderPath.optional(),
            key: folderPath.optional(),
          })
          .optional(),
        ...profileFields,
      })
      .refine(needsMapping, mappingError)
      .superRefine((t, ctx) => {
        // No MQTT filter: refused here, not at the broker after start (a feed that looks up and
        // receives nothing).
        const valid = t.topics.map((f, i) => {
          const problem = topicFilterProblem(f);
          if (problem)
            ctx.addIssue({
              code: 'custom',
              path: ['topics', i],
              input: f,
              message: `not an MQTT topic filter: ${problem}`,
            });
          return problem === null;
        });
        if (t.deviceBinding === 'none') return;
        t.topics.forEach((f, i) => {
          if (valid[i] && deviceLevel(f) === null)
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
        /**
         * How a request is verified: `standard-webhooks` (signed; the default), or `address-token` for
         * a vendor whose push cannot sign — Blackline's push service (https://push.blacklinesafety.com)
         * posts to the address it was given, with no signature: the address carries a secret token
         * (`/hooks/fob/<school>/<profile>/<token>`), compared in constant time.
         */
        verify: z.enum(['standard-webhooks', 'address-token']).default('standard-webhooks'),
        /** Standard Webhooks secrets (`whsec_…`), several during a key rotation. */
        secret: webhookSecret(secret).optional(),
        previousSecret: webhookSecret(secret).optional(),
        /** With `verify: address-token`: the token in the address. */
        token: addressToken(secret).optional(),
        maxBytes: z.int().min(256).max(1_048_576).default(65_536),
        ...profileFields,
      })
      .refine(needsMapping, mappingError)
      .superRefine((t, ctx) => {
        if (t.verify === 'standard-webhooks' && !t.secret)
          ctx.addIssue({
            code: 'custom',
            path: ['secret'],
            input: undefined,
            message: 'expected the Standard Webhooks secret (whsec_…)',
          });
        if (t.verify === 'address-token' && !t.token)
          ctx.addIssue({
            code: 'custom',
            path: ['token'],
            input: undefined,
            message: 'expected the token the address carries (verify: address-token)',
          });
      }),
  ]);

  return z.strictObject({
    // A webhook is addressed by its profile (`/hooks/fob/<school>/<profile>`): a second one with the
    // same profile could never be reached, its vendor's every request checked against the first's secret.
    transports: z
      .array(fobTransport)
      .default([])
      .superRefine((ts, ctx) => {
        const seen = new Set<string>();
        ts.forEach((t, i) => {
          if (t.kind !== 'webhook') return;
          if (seen.has(t.profile))
            ctx.addIssue({
              code: 'custom',
              path: [i, 'profile'],
              input: t.profile,
              message: `expected one webhook per profile: a webhook with profile ${t.profile} comes earlier (its address /hooks/fob/<school>/${t.profile} can reach only one)`,
            });
          seen.add(t.profile);
        });
      }),
    devices: z
      .array(
        z.strictObject({
          // Ids are matched exactly: one registered with spacing at its ends or an invisible
          // character (a quoted " PS-0001", a pasted zero-width space) matches no fob that sends its
          // id plainly, and the wearer's SOS is raised for an unknown device. Refused, not warned of:
          // such an id is never meant, and a warning is easily missed while the fob goes unnamed.
          deviceId: z
            .string()
            .min(1)
            .max(DEVICE_ID_MAX)
            .refine(
              (id) => id.trim() === id && !/[\p{Cc}\p{Cf}]/u.test(id),
              'expected a device id without spacing at its ends or control or invisible characters (ids are matched exactly: a fob sending its id plainly would be raised as an unknown device)',
            ),
          staffId: z.string().min(1),
          /** Key the device (or its gateway) signs each payload with (peoplesafe-style signing). */
          signingKey: signingKey(secret).optional(),
        }),
      )
      .default([])
      // A fob is one device worn by one person: a device id listed twice (a fob re-issued by adding
      // a line, two lists merged) would name whichever wearer (and signing key) came first on every
      // alarm — the wrong person, silently. Refused, naming both entries.
      .superRefine((ds, ctx) => {
        const first = new Map<string, number>();
        ds.forEach((d, i) => {
          const earlier = first.get(d.deviceId);
          if (earlier === undefined) {
            first.set(d.deviceId, i);
            return;
          }
          const was = ds[earlier]!.staffId;
          ctx.addIssue({
            code: 'custom',
            path: [i, 'deviceId'],
            input: d.deviceId,
            message: `expected each fob once: device ${d.deviceId} is also fobs.devices[${earlier}] (staff ${was}${was === d.staffId ? ', the same' : `, here ${d.staffId}`}); keep only the line of the person who wears it now`,
          });
        });
      }),
    /** Refuse any non-alarm event not signed by its device (alarms are raised anyway, flagged). */
    requireSignedEvents: z.boolean().default(false),
    /** A device time further ahead of Doorstep's than this is not believed (seconds). */
    maxClockSkewSeconds: z.int().min(0).max(3600).default(120),
    /**
     * A fob registered to a worker on a visit that has sent nothing for this many minutes raises a
     * `device_silent` alarm (off unless the school sets it: how often a fob reports is the vendor's).
     */
    silentAlarmMinutes: z.int().min(5).max(240).optional(),
    /**
     * The board shows when the broker last sent anything on the school's MQTT feeds, red once it is
     * quiet longer than this (seconds; fobs and gateways that report their state send often).
     */
    brokerSilenceSeconds: z.int().min(60).max(86_400).default(900),
  });
}

export type FobsSettings = z.output<ReturnType<typeof fobsSettings>>;

/** The characters an MQTT topic level cannot carry as text: its separator and wildcards (NUL, a control character, is refused for every id). */
const TOPIC_LEVEL_UNSAFE = /[/+#]/;

/**
 * A fob's `deviceId` that no MQTT topic level can carry, where the school's fobs arrive on a feed
 * whose topic names the device (`{device}`, or its only `+`: `deviceBinding: topic`) — the school's
 * own, or, for a school with no feed of its own, one of the trust's (its alarms reach it through
 * those). The gateway publishes "PS/0001" to `…/fobs/PS/0001/events`, a level more than
 * `…/fobs/+/events` matches: the broker never delivers it, the wearer's SOS is lost and nothing says
 * so. A `+` or `#` is refused by the broker in a topic name. A webhook-only trust may keep such ids.
 */
export function deviceIdTopicProblems(
  schools: readonly { fobs: FobsSettings }[],
): { path: (string | number)[]; input: string; message: string }[] {
  const topicBound = (s: { fobs: FobsSettings }) =>
    s.fobs.transports.some((t) => t.kind === 'mqtt' && t.deviceBinding === 'topic');
  const trustHasOne = schools.some(topicBound);
  return schools.flatMap((s, i) => {
    const own = s.fobs.transports.length > 0;
    if (own ? !topicBound(s) : !trustHasOne) return [];
    const whose = own ? "this school's" : "the trust's (this school has no feed of its own)";
    return s.fobs.devices.flatMap((d, j) =>
      TOPIC_LEVEL_UNSAFE.test(d.deviceId)
        ? [
            {
              path: ['schools', i, 'fobs', 'devices', j, 'deviceId'],
              input: d.deviceId,
              message: `expected a device id without /, + or #: ${whose} fobs arrive on an MQTT topic that names the device in one level ({device}), which such an id cannot be — its gateway's messages would never reach Doorstep and the wearer's SOS would be lost`,
            },
          ]
        : [],
    );
  });
}
