import * as z from 'zod';
import type { Secret } from './secret.ts';
import { webhookSecretProblem } from './standard-webhooks.ts';

/**
 * The building blocks of settings schemas, shared by the config and by the connectors that declare
 * their own settings (a connector owns the shape of its section; the config composes the sections).
 */

/** Marks an issue whose input must not be echoed back (it may be a credential). */
export const NO_ECHO = 'noEcho';

/**
 * Makes the schema of one secret field: a `${ENV_NAME}` or `file:/path` reference, resolved while
 * validating (the config builds it with its secret sources), never the value itself.
 */
export type SecretField = () => z.ZodType<Secret, string>;

/**
 * A secret field whose value must also pass `problem` (undefined: it does), checked once it is
 * resolved; the value is never echoed in the error.
 */
export function checkedSecret(
  secret: SecretField,
  problem: (value: string) => string | undefined,
): z.ZodType<Secret, string> {
  return secret().transform((s, ctx) => {
    const why = problem(s.reveal());
    if (why === undefined) return s;
    ctx.issues.push({ code: 'custom', input: '(secret)', params: { [NO_ECHO]: true }, message: why });
    return z.NEVER;
  });
}

/** A Standard Webhooks secret (`whsec_…`, 24 to 64 bytes): `webhookSecretProblem`. */
export const webhookSecret = (secret: SecretField) => checkedSecret(secret, webhookSecretProblem);

/** The least the queue dashboard's password may be: it guards pausing and emptying the job queues. */
export const ADMIN_PASSWORD_MIN_CHARS = 16;

/** The queue dashboard's HTTP Basic password: at least `ADMIN_PASSWORD_MIN_CHARS` characters. */
export const adminPassword = (secret: SecretField) =>
  checkedSecret(secret, (v) =>
    v.length >= ADMIN_PASSWORD_MIN_CHARS
      ? undefined
      : `expected a password of at least ${ADMIN_PASSWORD_MIN_CHARS} characters, got ${v.length} (not shown): e.g. $(openssl rand -base64 18)`,
  );

/** The least a per-device signing key may be: shorter text can be guessed from one signed message. */
export const SIGNING_KEY_MIN_CHARS = 24;

/** A device's HMAC signing key (text): at least `SIGNING_KEY_MIN_CHARS` characters. */
export const signingKey = (secret: SecretField) =>
  checkedSecret(secret, (v) =>
    v.length >= SIGNING_KEY_MIN_CHARS
      ? undefined
      : `expected a signing key of at least ${SIGNING_KEY_MIN_CHARS} characters, got ${v.length} (not shown): e.g. $(openssl rand -base64 32)`,
  );

/**
 * A secret carried in a webhook's address (`/hooks/fob/<school>/<profile>/<token>`), for a vendor that
 * cannot sign its requests: 32 to 128 characters safe in a URL path.
 */
export const addressToken = (secret: SecretField) =>
  checkedSecret(secret, (v) =>
    /^[A-Za-z0-9_-]{32,128}$/.test(v)
      ? undefined
      : `expected 32 to 128 characters of A-Z, a-z, 0-9, _ or - (not shown): e.g. $(openssl rand -hex 24)`,
  );

/**
 * A URL of one of `protocols` that carries no password: where a setting has its own `password`
 * (a secret from the environment or a file), a password in the URL would sit in the config file in
 * plain text, and travel wherever the URL is shown.
 */
export function urlWithoutPassword(protocols: RegExp, expected: string, passwordField: string) {
  // Refinements run after a failed check too (zod 4): a value that is not a URL has its error already.
  return z
    .url({ protocol: protocols, error: expected })
    .refine((u) => !URL.canParse(u) || new URL(u).password === '', {
      error: `expected no password in the URL (not shown): give it as ${passwordField}: \${…} (a secret from the environment or a file)`,
    });
}

export const settingId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'expected an id of lower-case letters, digits and "-"' });

/**
 * An https URL with no user name or password in it: the credential belongs in the setting's own secret
 * field (a password, a token), not in plain text in the config file and wherever the URL is shown —
 * and fetch refuses to send a URL that carries one.
 */
export const httpsUrl = z.url({ protocol: /^https$/, error: 'expected an https URL' }).refine(
  (u) => {
    if (!URL.canParse(u)) return true;
    const url = new URL(u);
    return url.username === '' && url.password === '';
  },
  {
    error:
      'expected no user name or password in the URL (not shown): put the credential in its secret setting instead (the password or token, ${…} from the environment or a file)',
  },
);

/** https, or plain http to this machine only (a local relay, or the fake CPOMS in tests). */
export const httpsOrLocalUrl = z.url({ error: 'expected an https URL' }).refine(
  (u) => {
    if (!URL.canParse(u)) return true;
    const url = new URL(u);
    return (
      url.protocol === 'https:' ||
      (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
    );
  },
  { error: 'expected an https URL (http only for localhost)' },
);

export const folderPath = z.string().min(1, { error: 'expected a folder path' });
