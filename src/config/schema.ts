import { realpathSync } from 'node:fs';
import {
  basename,
  dirname,
  isAbsolute,
  join as joinPath,
  relative,
  resolve as resolvePath,
  sep,
} from 'node:path';
import * as z from 'zod';
import { deviceIdTopicProblems } from '../../connectors/fob/settings.ts';
import { recordSinkProblems } from '../../connectors/records/settings.ts';
import type { Secret } from '../core/secret.ts';
import { folderPath, NO_ECHO, type SecretField, settingId } from '../core/settings.ts';
import { secretBytes, webhookSecretProblem } from '../core/standard-webhooks.ts';
import type { PolicyPack } from '../domain/triggers/rules.ts';
import { parseSecretRef, resolveSecretRef, type SecretSources } from './secret.ts';
import { checkRetentionSchools, retentionSettings } from './sections/retention.ts';
import { schoolSettings } from './sections/school.ts';
import { serverSettings } from './sections/server.ts';

/**
 * The Doorstep configuration: one trust, its schools, and the services it runs on.
 * Objects are strict (an unknown key is an error, never ignored) and every default is written
 * here or in the section files it composes (`./sections/*.ts`, and each connector's own
 * `connectors/<kind>/settings.ts`), so a value that is present but wrong always fails rather than
 * falling back.
 * The schema is built per load because secret references are resolved while validating, so a
 * missing `${ENV}` or unreadable `file:` is reported with its YAML path and line like any other error.
 */

/** What a value is, never the value: for a secret field written wrongly. */
function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'an empty value';
  return typeof v === 'object' ? 'a mapping' : `a ${typeof v}`;
}

/**
 * A secret field's text. Not `z.string()`: its type error would echo a secret written inline as a
 * number (a PIN, a numeric token), so a value that is not text is refused here, without echo.
 */
const secretText = z.custom<string>((v) => typeof v === 'string', {
  params: { [NO_ECHO]: true },
  error: (issue) =>
    issue.input === undefined
      ? 'required but missing'
      : `expected a secret reference, \${ENV_NAME} or file:/path, got ${kindOf(issue.input)} (not shown)`,
});

function secretField(sources: SecretSources): SecretField {
  return () =>
    secretText.transform((text, ctx): Secret => {
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
        ctx.issues.push({
          code: 'custom',
          input: text,
          params: { [NO_ECHO]: true },
          message: resolved.reason,
        });
        return z.NEVER;
      }
      return resolved.secret;
    });
}

export function buildConfigSchema(sources: SecretSources) {
  const secret = secretField(sources);
  return z
    .strictObject({
      trust: z.strictObject({
        id: settingId,
        name: z.string().min(1),
        /**
         * The school that takes the workers out and alarms open of a school the config no longer
         * holds (one removed, or its id renamed, while they were open): "I need help" and back safe
         * are never refused for it, the visit watcher watches its workers by this school's rules, its
         * alarms' messages go through this school's channels and contacts, and this school's board
         * shows its open alarms to take — each saying "<id>, a school no longer in the configuration".
         * Left out: the first school in `schools`. It must name a school in `schools`.
         */
        orphansTo: settingId.optional(),
      }),
      ...serverSettings(secret),
      /** Folder of policy packs (`<id>.yaml`). */
      policiesDir: folderPath.default('./config/policies'),
      schools: z.array(schoolSettings(secret)).min(1, { error: 'expected at least one school' }),
      /** How long each kind of data is kept (defaults in ./sections/retention.ts, justified in docs/privacy.md). */
      retention: retentionSettings,
    })
    .superRefine((cfg, ctx) => {
      checkRetentionSchools(cfg, ctx);
      if (cfg.trust.orphansTo !== undefined && !cfg.schools.some((s) => s.id === cfg.trust.orphansTo))
        ctx.addIssue({
          code: 'custom',
          path: ['trust', 'orphansTo'],
          input: cfg.trust.orphansTo,
          message: `no school "${cfg.trust.orphansTo}" in schools (have: ${cfg.schools.map((s) => s.id).join(', ')})`,
        });
      checkWebhookSecretsApart(cfg, ctx);
      checkDropFoldersApart(cfg, ctx);
      checkMisSourcesApart(cfg, ctx);
      for (const p of deviceIdTopicProblems(cfg.schools)) ctx.addIssue({ code: 'custom', ...p });
      cfg.schools.forEach((school, i) => {
        // A CTF says only by URN whose it is (connectors/mis/ctf/reader.ts): without the school's own,
        // every CTF with another destination would be read as a transfer and give none of its marks.
        if (school.mis.kind === 'ctf' && school.urn === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['schools', i, 'urn'],
            input: undefined,
            message:
              "expected the school's 6-digit URN (quoted): its MIS export is CTF (mis.kind: ctf), and a CTF tells the school's own export (its sessions are the school's marks) from another school's transfer (its sessions are that school's) only by the URN",
          });
      });
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
        // Each sink once: a record kind goes to a sink at most once.
        const sinks = [s.records.sink];
        s.alsoRecordTo.forEach((a, j) => {
          if (sinks.includes(a.sink))
            ctx.addIssue({
              code: 'custom',
              path: ['schools', i, 'alsoRecordTo', j, 'sink'],
              input: a.sink,
              message: 'already a records sink of this school (each sink once)',
            });
          sinks.push(a.sink);
        });
        // The on-call number is offered outside the school's hours: without them it never would be.
        if (s.outOfHoursPhone && !s.escalationHours)
          ctx.addIssue({
            code: 'custom',
            path: ['schools', i, 'outOfHoursPhone'],
            input: s.outOfHoursPhone,
            // A person's mobile: not repeated back in the error.
            params: { [NO_ECHO]: true },
            message:
              'needs escalationHours (schoolDay with its outOfHours ladders, or weekend / holiday ladders): the times outside school hours when the phone page offers this number',
          });
        // Each sink's timeout within the delivery job's, and no pupil-less kind to an Arbor note.
        for (const p of recordSinkProblems(s))
          ctx.addIssue({
            code: 'custom',
            path: ['schools', i, ...p.path],
            input: p.input,
            message: p.message,
          });
      });
    });
}

/**
 * Each fob webhook's secret (signing secret, the one before it, or address token) its own: a Standard
 * Webhooks signature covers the message id, time and body, not the address — so one delivery signed
 * for a school would verify at every other address taking the same secret, and could be posted there
 * again (a second alarm at a school the device is not theirs). A signing key is compared by the bytes
 * it signs with (`whsec_` is optional: `whsec_<K>` and `<K>` are one key); an address token as
 * written, and by its bytes too where it reads as a key (a token seen in an address would sign for a
 * school keyed by it). Never echoed.
 */
function checkWebhookSecretsApart(
  cfg: {
    schools: readonly {
      fobs: { transports: readonly unknown[] };
      channels?: { webhook?: { secret?: Secret } };
    }[];
  },
  ctx: z.RefinementCtx,
): void {
  const first = new Map<string, string>();
  cfg.schools.forEach((school, i) => {
    school.fobs.transports.forEach((raw, j) => {
      const t = raw as { kind: string; secret?: Secret; previousSecret?: Secret; token?: Secret };
      if (t.kind !== 'webhook') return;
      for (const key of ['secret', 'previousSecret', 'token'] as const) {
        const value = t[key]?.reveal();
        if (!value) continue;
        const here = `schools[${i}].fobs.transports[${j}].${key}`;
        const asKey = `key:${secretBytes(value).toString('base64')}`;
        const forms =
          key !== 'token'
            ? [asKey]
            : webhookSecretProblem(value) === undefined
              ? [`text:${value}`, asKey]
              : [`text:${value}`];
        const there = forms.map((f) => first.get(f)).find((w) => w !== undefined);
        for (const f of forms) if (!first.has(f)) first.set(f, here);
        if (there !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['schools', i, 'fobs', 'transports', j, key],
            input: '',
            params: { [NO_ECHO]: true },
            message: `the same secret as ${there} (not shown): a delivery signed for one webhook address would verify at the other, so each webhook needs its own secret`,
          });
      }
    });
  });
  // The key Doorstep signs its own alarm deliveries with (`channels.webhook.secret`, the same
  // Standard Webhooks scheme): whoever receives those could sign fob events with it.
  cfg.schools.forEach((school, i) => {
    const value = school.channels?.webhook?.secret?.reveal();
    if (!value) return;
    const there = first.get(`key:${secretBytes(value).toString('base64')}`);
    if (there !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['schools', i, 'channels', 'webhook', 'secret'],
        input: '',
        params: { [NO_ECHO]: true },
        message: `the same key as ${there} (not shown): whoever receives Doorstep's signed alarm deliveries could sign fob events with it, so the outgoing webhook needs its own secret`,
      });
  });
}

/**
 * Each school's drop folder its own, and none inside another's (its `processed/` and `quarantine/`
 * included): a school's sync imports every file in its folder as its own pupils, so two schools given
 * one folder (a school block copied and not edited) would each import the other's exports. Compared
 * as absolute paths, links resolved where the folders exist. The drop folder is the only per-school
 * path that holds a school's data (a fob feed's TLS files may be shared: they hold none).
 */
function checkDropFoldersApart(
  cfg: { schools: readonly { id: string; mis: { kind: string } }[] },
  ctx: z.RefinementCtx,
): void {
  const seen: { id: string; index: number; path: string }[] = [];
  cfg.schools.forEach((school, i) => {
    const folder = (school.mis as { dropFolder?: string }).dropFolder;
    if (folder === undefined) return;
    const path = canonicalPath(folder);
    for (const other of seen) {
      const where = `school ${other.id}'s drop folder ${other.path} (schools[${other.index}].mis.dropFolder)`;
      const how =
        path === other.path
          ? `is the same folder as ${where}`
          : isInside(path, other.path)
            ? `is inside ${where}`
            : isInside(other.path, path)
              ? `holds ${where}`
              : undefined;
      if (how === undefined) continue;
      ctx.addIssue({
        code: 'custom',
        path: ['schools', i, 'mis', 'dropFolder'],
        input: folder,
        message: `school ${school.id}'s drop folder ${path} ${how}: each school imports every file in its folder as its own pupils, so one would import the other's exports; give each school a folder of its own, neither inside the other`,
      });
    }
    seen.push({ id: school.id, index: i, path });
  });
}

/**
 * Each school's MIS API source its own: a Wonde school (its API and `schoolId`) or an Arbor site
 * (`baseUrl`) given to two schools (a school block copied and not edited) would have each school's
 * sync import the same children and marks as its own, so an absence raises a trigger at both. An
 * Arbor site is its whole tenancy (every student it lists is imported); a Wonde token may cover
 * several schools, each named by its `schoolId`. URLs are compared by origin (scheme, host in any
 * case, port) and path, trailing slashes ignored, as the connectors join their paths to them.
 */
function checkMisSourcesApart(
  cfg: { schools: readonly { id: string; mis: { kind: string } }[] },
  ctx: z.RefinementCtx,
): void {
  const seen = new Map<string, { id: string; index: number }>();
  cfg.schools.forEach((school, i) => {
    const mis = school.mis as { kind: string; baseUrl?: string; schoolId?: string };
    if (mis.baseUrl === undefined || !URL.canParse(mis.baseUrl)) return;
    const site = apiBase(mis.baseUrl);
    const [field, key, what] =
      mis.kind === 'wonde' && mis.schoolId !== undefined
        ? (['schoolId', `wonde ${site} ${mis.schoolId}`, `Wonde school ${mis.schoolId} at ${site}`] as const)
        : mis.kind === 'arbor'
          ? (['baseUrl', `arbor ${site}`, `Arbor site ${site}`] as const)
          : [];
    if (field === undefined) return;
    const other = seen.get(key);
    if (other === undefined) {
      seen.set(key, { id: school.id, index: i });
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: ['schools', i, 'mis', field],
      input: mis[field],
      message: `school ${school.id}'s ${what} is the same as school ${other.id}'s (schools[${other.index}].mis.${field}): each school's sync imports its MIS's pupils and marks as its own, so both would hold the same children and raise their triggers twice; give each school its own MIS source`,
    });
  });
}

/** An API's base URL as compared: origin (host in lower case, default port dropped) and path, no trailing slash. */
function apiBase(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** `path` absolute, with the links of the part of it that exists resolved. */
function canonicalPath(path: string): string {
  const absolute = resolvePath(path);
  const rest: string[] = [];
  for (let at = absolute; ; ) {
    try {
      return joinPath(realpathSync.native(at), ...[...rest].reverse());
    } catch {
      const parent = dirname(at);
      if (parent === at) return absolute;
      rest.push(basename(at));
      at = parent;
    }
  }
}

/** Whether `path` is below `folder` (both absolute and canonical). */
function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** The config file's settings as validated. */
export type ConfigSettings = z.output<ReturnType<typeof buildConfigSchema>>;

/** A loaded config: its settings and the policy packs they name, read and validated once at load. */
export type DoorstepConfig = ConfigSettings & { readonly packs: ReadonlyMap<string, PolicyPack> };
export type SchoolConfig = DoorstepConfig['schools'][number];

/** A school's SMS account (the call channel rings on it too). */
export type SmsSettingsConfig = NonNullable<SchoolConfig['channels']['sms']>;
/** A school's `channels.call`. */
export type CallSettings = NonNullable<SchoolConfig['channels']['call']>;
/** A school's `channels.push`. */
export type PushSettings = NonNullable<SchoolConfig['channels']['push']>;
