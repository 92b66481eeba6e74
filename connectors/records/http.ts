import { failureOf, unreachable } from '../../src/core/outbound-http.ts';
import { RecordDeliveryError } from './types.ts';

export interface SinkResponse {
  status: number;
  body: unknown;
}

/**
 * One HTTP exchange with a record sink, classified by `failureOf` (src/core/outbound-http.ts): network
 * errors, timeouts and 5xx are retryable with backoff; a 429 carries its Retry-After; 401/403 never retry. Callers decide what 2xx/409/422 mean.
 */
export async function sinkFetch(
  url: string,
  init: RequestInit & { timeoutMs: number },
  what: string,
): Promise<SinkResponse> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs) });
  } catch (err) {
    const u = unreachable(err);
    const why = u.timedOut ? `no answer within ${init.timeoutMs} ms` : u.reason;
    throw new RecordDeliveryError(`${what}: ${why}`, { retry: 'backoff' });
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
    throw new RecordDeliveryError(`${what}: HTTP ${res.status}`, { retry: 'backoff' }, res.status);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new RecordDeliveryError(`${what}: the answer was cut off (${(err as Error).message})`, {
      retry: 'backoff',
    });
  }
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
