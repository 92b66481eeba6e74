import type * as z from 'zod';
import { failureOf, redirectTarget, textWithin, unreachable } from '../../src/core/outbound-http.ts';
import { type DoorstepError, doorstepError } from '../../src/errors.ts';
import { MAX_API_PAGE_BYTES } from './field-limits.ts';

export interface HttpSettings {
  /** Authorization header value (Basic … / Bearer …). */
  authorization: string;
  timeoutMs?: number;
  /** Tries per request for 429 and 5xx (the first included). */
  attempts?: number;
  /** Longest Retry-After honoured in-process; longer waits fail the sync so the job retries later. */
  maxWaitMs?: number;
  /** Largest response body read (bytes); default `MAX_API_PAGE_BYTES`. */
  maxBytes?: number;
  /** Injected for tests; real code waits. */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * GET a JSON document from an MIS API and validate it. Retries 429 and 503 (honouring Retry-After up
 * to `maxWaitMs`: a longer one fails at once, naming it), other 5xx and network errors (a connection
 * cut mid-answer included) with backoff, a bounded number of times; 401/403 fail at once
 * (DOORSTEP_MIS_AUTH: retrying bad credentials only locks accounts); 422 and a body that does not
 * match the expected shape fail with DOORSTEP_MIS_BAD_RESPONSE naming the field, and so does a
 * redirect (never followed), naming where it points.
 */
export async function getJson<S extends z.ZodType>(
  url: string,
  schema: S,
  settings: HttpSettings,
  what: string,
  /** How a shape refusal names where in the body it is (default: its path, `data.0.mis_id`). */
  placeOf: (path: readonly PropertyKey[]) => string = (path) => path.map(String).join('.') || '(body)',
): Promise<z.output<S>> {
  const attempts = settings.attempts ?? 3;
  const sleep = settings.sleep ?? realSleep;
  const maxWait = settings.maxWaitMs ?? 60_000;
  const shown = new URL(url);
  const label = `${what} (${shown.origin}${shown.pathname})`;
  let last: DoorstepError | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const backoff = 1000 * 2 ** (attempt - 1);
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { authorization: settings.authorization, accept: 'application/json' },
        signal: AbortSignal.timeout(settings.timeoutMs ?? 30_000),
        // Not followed: a followed redirect sends the request wherever it points (with the credentials,
        // on the same host) and reads the answer as the MIS's, past the checks on the links Doorstep
        // follows (Wonde's next link stays on the Wonde host, Arbor's hrefs on the school's Arbor).
        redirect: 'manual',
      });
    } catch (err) {
      // The one reading of a failed exchange (src/core/outbound-http.ts): the network error's code or
      // a fixed phrase — never the error's text, which quotes the whole URL (a user and password in it
      // included). A request that can never be made (fetch's TypeError with no cause: a URL with a
      // user or password in it, a header value it refuses) fails the same at every try: not retried.
      const failed = unreachable(err);
      if (err instanceof TypeError && err.cause === undefined)
        throw doorstepError(
          'CONFIG_INVALID',
          `${label}: ${failed.reason}; check the MIS base URL and credentials in the school's mis settings`,
        );
      last = doorstepError('MIS_UNAVAILABLE', `${label}: ${failed.reason}`, { cause: err });
      if (attempt < attempts) await sleep(backoff);
      continue;
    }
    const failure = failureOf(res);
    if (failure?.kind === 'auth') {
      await res.body?.cancel();
      throw doorstepError(
        'MIS_AUTH',
        `${label}: HTTP ${res.status} — the credentials were refused; check the school's MIS username/password or token`,
      );
    }
    if (failure?.kind === 'rate-limited') {
      const wait = failure.retryAfterMs ?? backoff;
      await res.body?.cancel();
      last = doorstepError(
        'MIS_RATE_LIMITED',
        `${label}: HTTP 429 rate limited (retry after ${Math.round(wait / 1000)} s)`,
      );
      if (attempt < attempts && wait <= maxWait) {
        await sleep(wait);
        continue;
      }
      throw last;
    }
    if (failure?.kind === 'unavailable') {
      // A 503 may say when to come back (a maintenance window): that wait, as a 429's, and one longer
      // than maxWait fails at once naming it — asked again sooner, the MIS is only down still.
      const asked = failure.retryAfterMs;
      await res.body?.cancel();
      last = doorstepError(
        'MIS_UNAVAILABLE',
        `${label}: HTTP ${res.status}${asked === undefined ? '' : ` (retry after ${Math.round(asked / 1000)} s)`}`,
      );
      if (asked !== undefined && asked > maxWait) throw last;
      if (attempt < attempts) await sleep(asked ?? backoff);
      continue;
    }
    // failureOf leaves a 3xx to the caller: an MIS API that redirects is misconfigured (base URL)
    // or is not the MIS; retrying gives the same answer.
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      throw doorstepError(
        'MIS_BAD_RESPONSE',
        `${label}: HTTP ${res.status} redirect to ${redirectTarget(res, url)}, not followed; check the MIS base URL`,
      );
    }
    if (res.status === 422) {
      // Its words are not kept: a validation answer quotes what it refused, which can be a pupil's
      // data, and this message is logged and shown on the data page.
      await res.body?.cancel();
      throw doorstepError(
        'MIS_BAD_RESPONSE',
        `${label}: HTTP 422 — the MIS refused the request as invalid (its answer is not kept: it can quote pupil data)`,
      );
    }
    const max = settings.maxBytes ?? MAX_API_PAGE_BYTES;
    let text: string | null;
    try {
      text = await textWithin(res, max);
    } catch (err) {
      // The connection cut mid-answer, or the answer stalled past the timeout: a network failure,
      // read and retried as one (before, it escaped as a bare `TypeError: terminated`).
      last = doorstepError(
        'MIS_UNAVAILABLE',
        `${label}: ${unreachable(err).reason} while reading the answer`,
        {
          cause: err,
        },
      );
      if (attempt < attempts) await sleep(backoff);
      continue;
    }
    if (text === null)
      throw doorstepError(
        'MIS_BAD_RESPONSE',
        `${label}: the response is larger than ${max} bytes; use a smaller page size`,
      );
    if (res.status !== 200)
      throw doorstepError('MIS_BAD_RESPONSE', `${label}: unexpected HTTP ${res.status}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw doorstepError('MIS_BAD_RESPONSE', `${label}: the response is not JSON`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw doorstepError(
        'MIS_BAD_RESPONSE',
        `${label}: unexpected response shape at ${placeOf(issue.path)}: ${issue.message}`,
      );
    }
    return parsed.data;
  }
  throw last!;
}
