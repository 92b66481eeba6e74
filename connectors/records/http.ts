import {
  failureOf,
  mayHaveLanded as mayHaveReached,
  outboundFetch,
  redirectTarget,
  statusMayHaveLanded,
  textWithin,
  unreachable,
} from '../../src/core/outbound-http.ts';
import { RecordDeliveryError } from './types.ts';

/** The most of a sink's answer read: a CPOMS incident or a page of 100 Arbor notes is far less. */
export const MAX_SINK_ANSWER_BYTES = 2 * 1024 * 1024;

export interface SinkResponse {
  status: number;
  body: unknown;
}

/** What a sink's request says when the delivery job stopped it (its timeout, or a shutdown). */
function stopped(what: string, mayHaveLanded: boolean): RecordDeliveryError {
  return new RecordDeliveryError(
    `${what}: stopped — the delivery job was aborted (its timeout or a shutdown)`,
    { retry: 'backoff' },
    undefined,
    { mayHaveLanded },
  );
}

/**
 * One HTTP exchange with a record sink, classified by `failureOf` (src/core/outbound-http.ts): network
 * errors, timeouts and 5xx are retryable with backoff; a 429 carries its Retry-After; 401/403 never retry. Callers decide what 2xx/409/422 mean.
 * A write (any method but GET/HEAD) that fails after it was sent says so (`mayHaveLanded`): a sink
 * without an idempotency key is not written to again until the write can be looked for.
 * `signal` is the delivery job's (JobRun.signal): when the job times out or the process shuts down,
 * the request in flight is abandoned at once, so a stopped try never goes on to send while its retry
 * sends again.
 */
export async function sinkFetch(
  url: string,
  init: Omit<RequestInit, 'signal'> & { timeoutMs: number; signal?: AbortSignal | undefined },
  what: string,
): Promise<SinkResponse> {
  const { timeoutMs, signal: job, ...rest } = init;
  // A write to the sink: once sent, a failure may leave it made (`mayHaveLanded`).
  const write = !['GET', 'HEAD'].includes((rest.method ?? 'GET').toUpperCase());
  if (job?.aborted) throw stopped(what, false);
  const signal = job
    ? AbortSignal.any([AbortSignal.timeout(timeoutMs), job])
    : AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    // Never followed (redirectTarget): a 3xx is said below.
    res = await outboundFetch(url, { ...rest, signal, redirect: 'manual' });
  } catch (err) {
    const u = unreachable(err);
    // Known never written (the connection not made, within the timeout or at all; the TLS handshake
    // failed; stopped before it was written) or possibly made.
    const reached = mayHaveReached(err);
    const mayHaveLanded = write && reached;
    if (job?.aborted) throw stopped(what, mayHaveLanded);
    const why = u.timedOut ? `no ${reached ? 'answer' : 'connection'} within ${timeoutMs} ms` : u.reason;
    throw new RecordDeliveryError(`${what}: ${why}`, { retry: 'backoff' }, undefined, { mayHaveLanded });
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new RecordDeliveryError(
      `${what}: HTTP ${res.status} redirect to ${redirectTarget(res, url)}, not followed; check the sink's baseUrl`,
      { retry: 'never' },
      res.status,
    );
  }
  const failure = failureOf(res);
  if (failure?.kind === 'auth') {
    await res.body?.cancel();
    throw new RecordDeliveryError(
      `${what}: HTTP ${res.status} — the token was refused; check the school's credentials`,
      { retry: 'never' },
      res.status,
    );
  }
  if (failure?.kind === 'rate-limited') {
    await res.body?.cancel();
    const delayMs = failure.retryAfterMs ?? 5000;
    throw new RecordDeliveryError(`${what}: HTTP 429 rate limited`, { retry: 'after', delayMs }, 429);
  }
  if (failure?.kind === 'unavailable') {
    await res.body?.cancel();
    // A 503 that says when to come back (a maintenance window): then, without using up a try — a
    // window longer than the backoff's tries no longer marks every pending record failed.
    if (failure.retryAfterMs !== undefined)
      throw new RecordDeliveryError(
        `${what}: HTTP ${res.status}, back in ${Math.round(failure.retryAfterMs / 1000)} s`,
        { retry: 'after', delayMs: failure.retryAfterMs },
        res.status,
      );
    // A 5xx may come after the sink made the write (a gateway's 502/504 while it went on:
    // `statusMayHaveLanded`); a 408 or 425 is the sink saying it did not take the request. A 503 is
    // counted too, though it says the same: a proxy may answer it after passing the write on, and a
    // record is never sent blindly after one that may have landed — its key (CPOMS) or marker
    // (Arbor) is checked first, which costs one read. (A text or call, which cannot be checked so,
    // takes a 503 at its word only in the provider's own words — its error document or a
    // Retry-After — and any other as may have been sent: `answerMayHaveLanded`.)
    throw new RecordDeliveryError(`${what}: HTTP ${res.status}`, { retry: 'backoff' }, res.status, {
      mayHaveLanded: write && (statusMayHaveLanded(res.status) || res.status === 503),
    });
  }
  let text: string | null;
  try {
    text = await textWithin(res, MAX_SINK_ANSWER_BYTES);
  } catch (err) {
    // The sink answered: a write it was answering may well have been made.
    if (job?.aborted) throw stopped(what, write);
    throw new RecordDeliveryError(
      `${what}: the answer was cut off (${(err as Error).message})`,
      { retry: 'backoff' },
      undefined,
      { mayHaveLanded: write },
    );
  }
  // An answer past the bound is no answer to read: whatever it was, a person checks the sink (a
  // write it answered may have been made, so it is not sent again by itself).
  if (text === null)
    throw new RecordDeliveryError(
      `${what}: HTTP ${res.status} with an answer over ${MAX_SINK_ANSWER_BYTES} bytes, not read; check the sink before resending`,
      { retry: 'never' },
      res.status,
    );
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, body };
}

/**
 * A vendor's refusal (422) as Doorstep may store and log it: never the answer itself — vendors echo
 * the refused record (a pupil's name, the note's text) — only which of the fields Doorstep sent the
 * answer's errors name. `errors` is the part of the answer that holds them (CPOMS `errors`, Arbor
 * `response.errors`); `sent` the field names Doorstep wrote, the only words kept.
 */
export function refusedFields(errors: unknown, sent: readonly string[]): string {
  const named = new Set(wordsOf(errors));
  const fields = [...new Set(sent)].filter((f) => named.has(f));
  return fields.length > 0
    ? `fields: ${fields.join(', ')}`
    : 'no field it names was sent (the answer is not kept: it may repeat the record)';
}

/** The words and keys of a vendor's answer, only ever matched against field names (never kept). */
function wordsOf(value: unknown, depth = 0): string[] {
  if (depth > 6) return [];
  if (typeof value === 'string') return value.split(/[^\w-]+/).filter(Boolean);
  if (Array.isArray(value)) return value.flatMap((v) => wordsOf(v, depth + 1));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [k, ...wordsOf(v, depth + 1)]);
  return [];
}
