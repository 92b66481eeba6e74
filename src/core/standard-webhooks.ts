import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks 1.0 verification: `webhook-id`, `webhook-timestamp` and `webhook-signature`
 * (`v1,<base64>` entries, space-separated for key rotation) over `{id}.{timestamp}.{raw body}` with
 * HMAC-SHA256 and a `whsec_…` secret; constant-time comparison; a timestamp outside the tolerance is
 * refused. Returns a result instead of throwing (after trigger.dev's webhook verifier).
 */
export type VerifyResult = { ok: true; id: string; timestamp: number } | { ok: false; reason: string };

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

export function verifyStandardWebhook(
  raw: Buffer,
  headers: Record<string, string | string[] | undefined>,
  secrets: readonly string[],
  now: Date,
  toleranceSeconds = 300,
): VerifyResult {
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
  const given = sig
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const secret of secrets) {
    const expected = createHmac('sha256', secretBytes(secret))
      .update(`${id}.${timestamp}.`)
      .update(raw)
      .digest();
    if (given.some((g) => g.length === expected.length && timingSafeEqual(g, expected)))
      return { ok: true, id, timestamp };
  }
  return { ok: false, reason: 'no signature matches' };
}
