import type { RetryClass } from '../errors.ts';

/**
 * What a failed outbound HTTP exchange means — one reading for every service Doorstep calls (MIS
 * APIs, record sinks, notification channels), so each answers 401, 429 and 5xx the same way:
 *
 * - `unreachable`: no answer, a timeout, a reset — try again later (transient);
 * - `auth`: 401/403, the credentials were refused — retrying only locks accounts (config);
 * - `rate-limited`: 429, with its Retry-After when given — not the request's fault (transient);
 * - `unavailable`: 5xx — the service is down or overloaded (transient);
 * - `refused`: any other 4xx — this request will not succeed as it is (permanent).
 *
 * What a 2xx, a 3xx, a 409 or a 422 means is the caller's to decide.
 */
export type HttpFailure =
  | { kind: 'unreachable'; reason: string; timedOut: boolean }
  | { kind: 'auth'; status: number }
  | { kind: 'rate-limited'; status: 429; retryAfterMs: number | undefined }
  | { kind: 'unavailable'; status: number }
  | { kind: 'refused'; status: number };

/** `Retry-After` as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A response's status read as a failure: 401/403, 429 and 5xx always; other 4xx when `refuse4xx`. */
export function failureOf(
  res: { status: number; headers: { get(name: string): string | null } },
  options: { refuse4xx?: boolean } = {},
): HttpFailure | undefined {
  const status = res.status;
  if (status === 401 || status === 403) return { kind: 'auth', status };
  if (status === 429)
    return { kind: 'rate-limited', status, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
  if (status >= 500) return { kind: 'unavailable', status };
  if (options.refuse4xx && status >= 400) return { kind: 'refused', status };
  return undefined;
}

/** A fetch that threw (no response at all). */
export function unreachable(err: unknown): HttpFailure & { kind: 'unreachable' } {
  const e = err as Error & { cause?: { code?: string } };
  const timedOut = e?.name === 'TimeoutError';
  return { kind: 'unreachable', reason: e?.cause?.code ?? e?.message ?? String(err), timedOut };
}

export function retryClassOfFailure(f: HttpFailure): RetryClass {
  if (f.kind === 'auth') return 'config';
  if (f.kind === 'refused') return 'permanent';
  return 'transient';
}
