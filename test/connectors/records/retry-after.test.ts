import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sinkFetch } from '../../../connectors/records/http.ts';
import { RecordDeliveryError } from '../../../connectors/records/types.ts';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from '../../../src/core/outbound-http.ts';

/**
 * A record sink that says when to come back is believed (within an hour): a 429, and a 503 for a
 * maintenance window — which, before, used up the backoff's tries and marked every pending record
 * failed if the window was longer than they last.
 */
const BASE = 'https://records.example.test';
beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const refusal = async (status: number, headers: Record<string, string> = {}) => {
  nock(BASE).post('/notes').reply(status, { error: 'x' }, headers);
  const err = await sinkFetch(`${BASE}/notes`, { method: 'POST', timeoutMs: 1000 }, 'CPOMS').catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RecordDeliveryError);
  return (err as RecordDeliveryError).advice;
};

describe('a record sink saying when to come back', () => {
  it('a 503 with Retry-After waits that long without using up a try; without it, backoff', async () => {
    expect(await refusal(503, { 'retry-after': '120' })).toEqual({ retry: 'after', delayMs: 120_000 });
    expect(await refusal(503)).toEqual({ retry: 'backoff' });
    expect(await refusal(502, { 'retry-after': '120' })).toEqual({ retry: 'backoff' });
  });

  it('is believed for an hour at most: a header saying "in three years" parks nothing that long', async () => {
    expect(await refusal(429, { 'retry-after': '99999999' })).toEqual({
      retry: 'after',
      delayMs: MAX_RETRY_AFTER_MS,
    });
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(retryAfterMs('Wed, 02 Dec 2029 10:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs('Wed, 02 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});

describe('a record sink answering what a retry can change, or a redirect', () => {
  it('408 (the service timed the request out) and 425 are tried again with backoff, not dead-lettered', async () => {
    expect(await refusal(408)).toEqual({ retry: 'backoff' });
    expect(await refusal(425)).toEqual({ retry: 'backoff' });
  });

  it('a redirect is not followed (a POST resent as a GET, its key header sent elsewhere): failed, naming where it pointed', async () => {
    const moved = nock('https://elsewhere.example.test').get('/moved').reply(200, { id: 42 });
    nock(BASE).post('/notes').reply(302, '', { location: 'https://elsewhere.example.test/moved?token=abc' });
    const err = (await sinkFetch(
      `${BASE}/notes`,
      { method: 'POST', timeoutMs: 1000, headers: { 'x-api-key': 'tok-SECRET' } },
      'CPOMS',
    ).catch((e: unknown) => e)) as RecordDeliveryError;
    expect(err).toBeInstanceOf(RecordDeliveryError);
    expect(err.advice).toEqual({ retry: 'never' });
    expect(err.message).toBe(
      "CPOMS: HTTP 302 redirect to https://elsewhere.example.test/moved, not followed; check the sink's baseUrl",
    );
    expect(moved.isDone()).toBe(false);
  });
});
