import dns from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sinkFetch } from '../../connectors/records/http.ts';
import { RecordDeliveryError } from '../../connectors/records/types.ts';
import { mayHaveLanded, outboundFetch } from '../../src/core/outbound-http.ts';

/**
 * Our own deadline on an outbound request covers the name's lookup and the connection as well as the
 * answer, and its timeout carries no code: one that fires before any of the request was written (a
 * slow resolver, a stalled connect) asked for nothing — never "may have landed" — while one that
 * fires once the request was written still may have.
 */
const STALLED = 'stalled.outbound.test';
const lookup = dns.lookup;
let server: Server | undefined;
afterEach(() => {
  dns.lookup = lookup;
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** The resolver never answers for `STALLED` (a resolver retrying, a network gone quiet). */
function stallLookup(): void {
  (dns as { lookup: unknown }).lookup = (host: string, ...rest: unknown[]) => {
    if (host === STALLED) return;
    return (lookup as (...a: unknown[]) => unknown)(host, ...rest);
  };
}

/** A server that reads each request whole and never answers; the requests it saw. */
async function silent(): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  server = createServer((req) => {
    req.resume();
    req.on('end', () => seen.push(req.method ?? ''));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, seen };
}

describe('a request timed out before any of it was written', () => {
  it('outboundFetch: a lookup that never ends is not "may have landed"; a request written and not answered is', async () => {
    const { port } = await silent();
    stallLookup();
    const never = await outboundFetch(`http://${STALLED}:${port}/x`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(300),
    }).catch((e: unknown) => e);
    expect((never as Error).name).toBe('TimeoutError');
    expect(mayHaveLanded(never)).toBe(false);
    const written = await outboundFetch(`http://127.0.0.1:${port}/x`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(300),
    }).catch((e: unknown) => e);
    expect((written as Error).name).toBe('TimeoutError');
    expect(mayHaveLanded(written)).toBe(true);
  });

  it('a record sink: a write whose connection never came is retried as never made; one written and unanswered may have landed', async () => {
    const { port, seen } = await silent();
    stallLookup();
    const write = async (host: string, signal?: AbortSignal) =>
      (await sinkFetch(
        `http://${host}:${port}/notes`,
        { method: 'POST', body: '{}', timeoutMs: 300, signal },
        'Arbor pastoral note',
      ).catch((e: unknown) => e)) as RecordDeliveryError;
    const never = await write(STALLED);
    expect(never).toBeInstanceOf(RecordDeliveryError);
    expect(never.message).toBe('Arbor pastoral note: no connection within 300 ms');
    expect(never.mayHaveLanded).toBe(false);
    // The delivery job stopped (its timeout, a shutdown) while the connection was still being made.
    const job = new AbortController();
    setTimeout(() => job.abort(), 100);
    const stopped = await write(STALLED, job.signal);
    expect(stopped.message).toMatch(/stopped/);
    expect(stopped.mayHaveLanded).toBe(false);
    expect(seen).toEqual([]);
    const written = await write('127.0.0.1');
    expect(written.message).toBe('Arbor pastoral note: no answer within 300 ms');
    expect(written.mayHaveLanded).toBe(true);
    expect(seen).toEqual(['POST']);
  });
});
