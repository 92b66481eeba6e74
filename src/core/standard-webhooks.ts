import { createHmac, type Hmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks 1.0 verification: `webhook-id`, `webhook-timestamp` and `webhook-signature`
 * (`v1,<base64>` entries, space-separated for key rotation) over `{id}.{timestamp}.{raw body}` with
 * HMAC-SHA256 and a `whsec_…` secret; constant-time comparison; a timestamp outside the tolerance is
 * refused. Returns a result instead of throwing (after trigger.dev's webhook verifier).
 */
export type VerifyResult = { ok: true; id: string; timestamp: number } | { ok: false; reason: string };

/** The key length Standard Webhooks asks of a secret: 24 to 64 bytes (192 to 512 bits). */
export const SECRET_BYTES = { min: 24, max: 64 } as const;

/**
 * Why a secret is no Standard Webhooks key, or undefined when it is: `whsec_` (optional) then strict
 * base64 of 24 to 64 bytes. A secret of any other text decodes to few or no bytes — `whsec_` alone
 * to none, an HMAC keyed by nothing that anyone can compute — so it is refused, never used.
 */
export function webhookSecretProblem(secret: string): string | undefined {
  const b64 = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  const bytes = Buffer.from(b64, 'base64');
  if (b64 === '' || bytes.toString('base64') !== b64)
    return `expected whsec_ then the key in base64 (a Standard Webhooks secret of ${SECRET_BYTES.min} to ${SECRET_BYTES.max} bytes), got text that is not base64 (not shown)`;
  if (bytes.length < SECRET_BYTES.min || bytes.length > SECRET_BYTES.max)
    return `expected a key of ${SECRET_BYTES.min} to ${SECRET_BYTES.max} bytes (Standard Webhooks), got ${bytes.length} (not shown): e.g. whsec_$(openssl rand -base64 32)`;
  return undefined;
}

export function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

export function signStandardWebhook(secret: string, id: string, timestamp: number, raw: Buffer): string {
  const mac = createHmac('sha256', secretBytes(secret))
    .update(`${id}.${timestamp}.`)
    .update(raw)
    .digest('base64');
  return `v1,${mac}`;
}

/** A request's Standard Webhooks headers, read and checked before its body: what its body's HMAC is to match. */
export type WebhookHeaders =
  | { ok: true; id: string; timestamp: number; signatures: readonly Buffer[] }
  | { ok: false; reason: string };

/**
 * The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers, and the timestamp within the
 * tolerance: all that can be checked before the body is read (a request failing here is refused
 * without reading it). The signatures are the `v1,` entries, decoded.
 */
export function readWebhookHeaders(
  headers: Record<string, string | string[] | undefined>,
  now: Date,
  toleranceSeconds = 300,
): WebhookHeaders {
  const one = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = one('webhook-id');
  const ts = one('webhook-timestamp');
  const sig = one('webhook-signature');
  if (!id || !ts || !sig)
    return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'webhook-timestamp is not a Unix time in seconds' };
  const timestamp = Number(ts);
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) {
    return {
      ok: false,
      reason: `webhook-timestamp is outside the ${toleranceSeconds / 60}-minute tolerance`,
    };
  }
  const signatures = sig
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  return { ok: true, id, timestamp, signatures };
}

/**
 * The HMAC a body is signed with under `secret`, its `{id}.{timestamp}.` already in: update it with
 * the body as it comes (chunk by chunk, never held whole), then `signatureMatches` its digest.
 */
export function webhookMac(secret: string, id: string, timestamp: number): Hmac {
  return createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.`);
}

/** Whether any of the signatures given is `expected` (a `webhookMac` digest), in constant time. */
export function signatureMatches(signatures: readonly Buffer[], expected: Buffer): boolean {
  return signatures.some((g) => g.length === expected.length && timingSafeEqual(g, expected));
}

export function verifyStandardWebhook(
  raw: Buffer,
  headers: Record<string, string | string[] | undefined>,
  secrets: readonly string[],
  now: Date,
  toleranceSeconds = 300,
): VerifyResult {
  const read = readWebhookHeaders(headers, now, toleranceSeconds);
  if (!read.ok) return read;
  const { id, timestamp, signatures } = read;
  for (const secret of secrets)
    if (signatureMatches(signatures, webhookMac(secret, id, timestamp).update(raw).digest()))
      return { ok: true, id, timestamp };
  return { ok: false, reason: 'no signature matches' };
}
