import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sinkFetch } from '../../../connectors/records/http.ts';
import { RecordDeliveryError } from '../../../connectors/records/types.ts';

/**
 * A write to a record sink that failed after it was sent may still have been made (`mayHaveLanded`):
 * Arbor keeps no idempotency key, so deliver-record must not write again until it can look. A write
 * that never left (the connection refused) and any read are not: they are retried as ever.
 */
const BASE = 'https://records.example.test';
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
});
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const failure = async (method: 'GET' | 'POST', reply: (scope: nock.Interceptor) => void) => {
  reply(method === 'GET' ? nock(BASE).get('/notes') : nock(BASE).post('/notes'));
  const err = await sinkFetch(`${BASE}/notes`, { method, timeoutMs: 5000 }, 'Arbor pastoral note').catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RecordDeliveryError);
  const e = err as RecordDeliveryError;
  return { retry: e.advice.retry, mayHaveLanded: e.mayHaveLanded };
};

/**
 * A sink that reads the whole request, then drops the connection with no answer (a proxy or the
 * sink's process dying as it works): the request was written. A real socket, not a mocked error —
 * nock's `replyWithError` leaves fetch waiting for its timeout.
 */
const droppingAfterRequest = async (method: 'GET' | 'POST') => {
  const server = createHttpServer((req) => {
    req.resume();
    req.on('end', () => req.socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  try {
    const err = (await sinkFetch(
      `http://127.0.0.1:${port}/notes`,
      { method, body: method === 'POST' ? '{}' : undefined, timeoutMs: 30_000 },
      'Arbor pastoral note',
    ).catch((e: unknown) => e)) as RecordDeliveryError;
    expect(err).toBeInstanceOf(RecordDeliveryError);
    // The drop, not our own timeout.
    expect(err.message).not.toMatch(/no answer within/);
    return { retry: err.advice.retry, mayHaveLanded: err.mayHaveLanded };
  } finally {
    await new Promise((r) => server.close(r));
  }
};

describe('a write that failed after it was sent', () => {
  it('a 5xx, a reset, an answer cut off: may have been made (still retried with backoff)', async () => {
    for (const status of [500, 502, 503, 504])
      expect(await failure('POST', (s) => s.reply(status, '{}'))).toEqual({
        retry: 'backoff',
        mayHaveLanded: true,
      });
    expect(await droppingAfterRequest('POST')).toEqual({ retry: 'backoff', mayHaveLanded: true });
  });

  it('an answer that says it was not taken (408, 425, 429, a 503 with Retry-After) was not made', async () => {
    for (const status of [408, 425])
      expect(await failure('POST', (s) => s.reply(status, '{}'))).toEqual({
        retry: 'backoff',
        mayHaveLanded: false,
      });
    expect(await failure('POST', (s) => s.reply(429, '{}', { 'retry-after': '5' }))).toEqual({
      retry: 'after',
      mayHaveLanded: false,
    });
    expect(await failure('POST', (s) => s.reply(503, '{}', { 'retry-after': '5' }))).toEqual({
      retry: 'after',
      mayHaveLanded: false,
    });
  });

  it('a read made nothing, whatever happened to it', async () => {
    expect(await failure('GET', (s) => s.reply(502, '{}'))).toEqual({
      retry: 'backoff',
      mayHaveLanded: false,
    });
    expect(await droppingAfterRequest('GET')).toEqual({ retry: 'backoff', mayHaveLanded: false });
  });

  it('a write that never left (the connection refused) was not made: retried as ever', async () => {
    // A port that was just free: nothing listens on it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise((r) => probe.close(r));
    const err = (await sinkFetch(
      `http://127.0.0.1:${port}/notes`,
      { method: 'POST', timeoutMs: 5000 },
      'Arbor pastoral note',
    ).catch((e: unknown) => e)) as RecordDeliveryError;
    expect(err).toBeInstanceOf(RecordDeliveryError);
    expect(err.message).toBe('Arbor pastoral note: ECONNREFUSED');
    expect({ retry: err.advice.retry, mayHaveLanded: err.mayHaveLanded }).toEqual({
      retry: 'backoff',
      mayHaveLanded: false,
    });
  });
});
