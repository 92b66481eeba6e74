import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { RetryClass } from '../errors.ts';

/**
 * What a failed outbound HTTP exchange means — one reading for every service Doorstep calls (MIS
 * APIs, record sinks, notification channels), so each answers 401, 429 and 5xx the same way:
 *
 * - `unreachable`: no answer, a timeout, a reset — try again later (transient); but a write that
 *   may have reached the service (`mayHaveLanded`) is the caller's to look for, never simply made again;
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
  /** 5xx; a 503 may say when to come back (a maintenance window): `retryAfterMs`. */
  | { kind: 'unavailable'; status: number; retryAfterMs?: number | undefined }
  | { kind: 'refused'; status: number };

/**
 * The longest wait a `Retry-After` is believed for: a vendor's header (or one forged on the way)
 * saying "in three years" must not park a record that long, unseen.
 */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/** `Retry-After` as seconds or an HTTP date, in ms (at most an hour); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Math.min(MAX_RETRY_AFTER_MS, Number(header.trim()) * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
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
  if (status === 503) {
    const after = retryAfterMs(res.headers.get('retry-after'));
    return after === undefined
      ? { kind: 'unavailable', status }
      : { kind: 'unavailable', status, retryAfterMs: after };
  }
  // 408 (the service timed the request out) and 425 (too early: replay) say "try again", like a 5xx.
  if (status >= 500 || status === 408 || status === 425) return { kind: 'unavailable', status };
  if (options.refuse4xx && status >= 400) return { kind: 'refused', status };
  return undefined;
}

/**
 * Whether a write answered with this failed status may still have been made (`mayHaveLanded`, for an
 * answer): a 5xx other than 503 can come after the service acted on it — a gateway's 502 or 504 once
 * it had passed the request on, a 500 thrown after the work was done. Every other failure says the
 * request was not taken: 503 and 429 (come back later), 408 and 425 (not taken, try again), 401/403
 * and the other 4xx (refused), a 3xx (never followed). A write that cannot be looked for before it is
 * made again reads a 503 more warily: `answerMayHaveLanded`.
 */
export function statusMayHaveLanded(status: number): boolean {
  return status >= 500 && status !== 503;
}

/**
 * Whether a failed answer to a request that sends something no one can take back (a text, a call:
 * nothing to look for before it is made again) may still have been acted on — `statusMayHaveLanded`,
 * but a 503 is taken at its word only when the service itself says it: its own error document
 * (`providerError`: JSON naming a numeric `code`, as Twilio's 20503 `{"code": 20503, "status": 503}`)
 * or a `Retry-After` it can be read by. A bare 503 (an HTML or plain-text page, no `Retry-After`) may
 * come from a proxy in front of the service after it passed the request on — Envoy's "upstream
 * connect error or disconnect/reset before headers", Heroku's H12 and H13 — so, like a gateway's 502
 * or 504, it may have been acted on.
 */
export function answerMayHaveLanded(
  res: { status: number; headers: { get(name: string): string | null } },
  body: { providerError: boolean },
): boolean {
  if (res.status !== 503) return statusMayHaveLanded(res.status);
  return !body.providerError && retryAfterMs(res.headers.get('retry-after')) === undefined;
}

/**
 * Whether an answer is a service's own error document: a JSON object naming a numeric `code` (Twilio's
 * published shape, `{ code: 20503, message, more_info, status }`) — never a proxy's page.
 */
export function isProviderErrorDocument(answer: string): boolean {
  try {
    const body: unknown = JSON.parse(answer.slice(0, 65_536));
    return typeof body === 'object' && body !== null && Number.isInteger((body as { code?: unknown }).code);
  } catch {
    return false;
  }
}

/**
 * A fetch that threw (no response at all). The reason is the network error's code (`ECONNREFUSED`,
 * `ENOTFOUND`, `UND_ERR_CONNECT_TIMEOUT`…) or a fixed phrase — never the error's text: fetch quotes
 * the URL it refused (`Request cannot be constructed from a URL that includes credentials:
 * https://user:secret@…`), and a webhook's or a heartbeat's URL is its credential.
 */
export function unreachable(err: unknown): HttpFailure & { kind: 'unreachable' } {
  const e = err as (Error & { cause?: { code?: unknown } }) | undefined;
  const timedOut = e?.name === 'TimeoutError';
  const code = e?.cause?.code;
  const reason =
    typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,39}$/.test(code)
      ? code
      : timedOut
        ? 'timed out'
        : e?.name === 'AbortError'
          ? 'aborted'
          : e?.name === 'TypeError' && !e.cause
            ? 'the request could not be made (a URL with a user or password in it, or not http(s)?)'
            : 'no connection';
  return { kind: 'unreachable', reason, timedOut };
}

/**
 * Network errors that come before a request is written — the connection was never made (refused, no
 * route, connect timeout), the host's name not found, the TLS handshake failed (below) — so the
 * request was not made.
 */
const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NODATA',
  'EAI_NONAME',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  // OpenSSL's certificate verification codes that are not named by the patterns below.
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
]);

/**
 * A TLS handshake that failed: fetch writes the request only once the handshake is done. Node's TLS
 * errors (`ERR_TLS_…`), OpenSSL's (`ERR_SSL_…`: the server's alert, no protocol in common) and the
 * certificate verification codes (`UNABLE_TO_…`, `…CERT…`, `CRL_…`)…
 */
const HANDSHAKE = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_)|CERT|CRL_/;

/** …but not an `ERR_SSL_` error that can come once the request is written (the record layer, a close). */
const AFTER_HANDSHAKE =
  /BAD_RECORD_MAC|DECRYPTION_FAILED|BAD_DECRYPT|RECORD_OVERFLOW|RECORD_TOO|UNEXPECTED_(EOF|MESSAGE|RECORD)|INTERNAL_ERROR|CLOSE_NOTIFY|USER_CANCELLED|PACKET_LENGTH|RECORD_LAYER|SHUTDOWN|RENEGOTIAT/;

/** How far one `outboundFetch` got: fetch's client made its request, and began to write it. */
interface Progress {
  made: boolean;
  written: boolean;
}

const fetching = new AsyncLocalStorage<Progress>();
const progressOf = new WeakMap<object, Progress>();
let listening = false;

/**
 * Node's fetch (undici) says on its diagnostics channels when it makes a request
 * (`undici:request:create`, in the caller's async context: the `outboundFetch` it belongs to) and
 * just before the request's first byte is written to a connected socket (`undici:client:sendHeaders`,
 * HTTP/1.1 and HTTP/2 alike).
 */
function listen(): void {
  if (listening) return;
  listening = true;
  subscribe('undici:request:create', (message) => {
    const progress = fetching.getStore();
    if (!progress) return;
    progress.made = true;
    progressOf.set((message as { request: object }).request, progress);
  });
  subscribe('undici:client:sendHeaders', (message) => {
    const progress = progressOf.get((message as { request: object }).request);
    if (progress) progress.written = true;
  });
}

/**
 * A fetch that failed before any of its request was written — the name not resolved, the connection
 * or its TLS handshake not made within the request's time, the socket closed before it was used,
 * the request stopped while it waited for one: known never made (`mayHaveLanded` is false), whatever
 * error it came as. It keeps that error's name and cause, so `unreachable` reads it as ever.
 */
class NeverWritten extends Error {
  constructor(err: unknown) {
    const e = err as { name?: unknown; cause?: unknown } | undefined;
    super('the request was never written', { cause: e?.cause });
    this.name = typeof e?.name === 'string' ? e.name : 'Error';
  }
}

/**
 * `fetch`, failing as `NeverWritten` when none of the request was written. Every request whose
 * failure is read by `mayHaveLanded` goes through it: our own deadline (`AbortSignal.timeout`) covers
 * the name's lookup, the connection and the TLS handshake as well as the answer, and a timeout has no
 * code — fired while the connection was still being made (a slow resolver, a stalled connect), it
 * was read as "may have landed", and a text never asked for was never sent. A fetch that is not
 * Node's own (a test's mock) tells nothing, and its failure is read by its code as before.
 */
export async function outboundFetch(url: string | URL, init: RequestInit): Promise<Response> {
  listen();
  const progress: Progress = { made: false, written: false };
  try {
    return await fetching.run(progress, () => fetch(url, init));
  } catch (err) {
    throw progress.made && !progress.written ? new NeverWritten(err) : err;
  }
}

/**
 * Whether a request that failed without an answer (a fetch, or the reading of its answer, that
 * threw) may have reached the service: true unless it is known never to have been written — a
 * request `outboundFetch` saw fail before any of it was written, a request fetch would not make at
 * all, or a network error that comes before the request is sent (`NEVER_SENT`, a failed TLS
 * handshake). A reset, a socket closed, an answer cut off, our own timeout once the request was
 * written (it may fire after the body went, while the service acts on it) leave it possibly made: a
 * write that fails so "may have landed", and is not simply made again.
 */
export function mayHaveLanded(err: unknown): boolean {
  if (err instanceof NeverWritten) return false;
  // A request fetch would not make at all (a URL it refuses) is a TypeError without a cause.
  if (err instanceof TypeError && !err.cause) return false;
  // The socket's own code (`unreachable` keeps only a plain one for words: OpenSSL's
  // `ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE` has a slash in it).
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (typeof code !== 'string') return true;
  return !(NEVER_SENT.has(code) || (HANDSHAKE.test(code) && !AFTER_HANDSHAKE.test(code)));
}

export function retryClassOfFailure(f: HttpFailure): RetryClass {
  if (f.kind === 'auth') return 'config';
  if (f.kind === 'refused') return 'permanent';
  return 'transient';
}

/**
 * What of a service's error answer Doorstep keeps: its status and the service's own error code —
 * never the answer's text. Providers quote what they were sent (Twilio's 21211: "The 'To' number
 * +44… is not a valid phone number"), so the text would carry a phone number, an address or a name
 * into the error, and from there into logs, the notification row, the alarm's timeline and the
 * incident record. The code is read from a JSON answer's `code` (Twilio's published error shape:
 * `{ code: 21211, message, more_info, status }`), `error_code` / `errorCode`, or `error.code`
 * (Google's and Microsoft's `{ error: { code, message } }`), and kept only when it is shaped like a
 * code: an integer of at most 6 digits, or a word of letters, digits, `_ . -` (at most 40, with a
 * letter) — never something shaped like a phone number or an e-mail address.
 */
export function providerErrorCode(answer: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(answer.slice(0, 65_536));
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  const nested = typeof b.error === 'object' && b.error !== null ? (b.error as Record<string, unknown>) : {};
  for (const candidate of [b.code, b.error_code, b.errorCode, nested.code]) {
    const code = typeof candidate === 'number' ? String(candidate) : candidate;
    if (typeof code !== 'string') continue;
    if (/^\d{1,6}$/.test(code)) return code;
    if (/^[A-Za-z0-9_.-]{1,40}$/.test(code) && /[A-Za-z]/.test(code)) return code;
  }
  return null;
}

/**
 * The words of a failed exchange that Doorstep may keep, log and show: what was called, the status
 * and the provider's own error code (`providerErrorCode`), e.g. `sms: HTTP 400 (error 21211)`.
 */
export function failureWords(what: string, status: number, answer: string): string {
  const code = providerErrorCode(answer);
  return `${what}: HTTP ${status}${code ? ` (error ${code})` : ''}`;
}

/**
 * Where a redirect points, as origin and path (its query string may carry a token). Doorstep follows
 * no redirect on an outbound call: fetch would resend a POST as a GET (a false "delivered") and its
 * credentials headers to wherever the redirect points.
 */
export function redirectTarget(res: { headers: { get(name: string): string | null } }, url: string): string {
  const location = res.headers.get('location');
  if (!location) return 'nowhere (no Location)';
  try {
    const to = new URL(location, url);
    return `${to.origin}${to.pathname}`;
  } catch {
    return 'an unreadable Location';
  }
}

/**
 * A response's body as text, or null once it passes `max` bytes (the rest is not read: leaving the
 * loop cancels it). Every outbound answer Doorstep reads whole goes through this: a service (or
 * something posing as one) answering without end never fills the process's memory.
 */
export async function textWithin(res: Response, max: number): Promise<string | null> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body ?? []) {
    total += chunk.byteLength;
    if (total > max) return null;
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
