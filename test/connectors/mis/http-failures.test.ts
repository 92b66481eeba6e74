import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { getJson } from '../../../connectors/mis/http.ts';

/**
 * Failures below the status line, against a local server (a real connection to cut): every one is read
 * by the one outbound-HTTP classifier (src/core/outbound-http.ts `unreachable`), named by the MIS and
 * the page, and retried as a network error.
 */
let server: Server;
let base = '';
const asked: Record<string, number> = {};
const stalled: ServerResponse[] = [];
const waits: number[] = [];
const settings = { authorization: 'Bearer t', sleep: async (ms: number) => void waits.push(ms) };
const schema = z.object({ data: z.array(z.unknown()) });

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    asked[path] = (asked[path] ?? 0) + 1;
    if (path === '/cut') {
      // The head and half the body, then the connection drops (a proxy restarting, a reset).
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"data": [', () => setImmediate(() => res.socket?.destroy()));
      return;
    }
    if (path === '/stall') {
      // The head and half the body, then nothing more.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"data": [');
      stalled.push(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data": []}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  waits.length = 0;
});
afterAll(async () => {
  for (const res of stalled) res.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('getJson: what fails below the status line', () => {
  it('a connection cut mid-answer is DOORSTEP_MIS_UNAVAILABLE naming the MIS and the page, retried', async () => {
    const err = await getJson(`${base}/cut`, schema, settings, 'Wonde students').catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'DOORSTEP_MIS_UNAVAILABLE',
      retry: 'transient',
      message: `Wonde students (${base}/cut): UND_ERR_SOCKET while reading the answer`,
    });
    expect(asked['/cut']).toBe(3);
    expect(waits).toEqual([1000, 2000]);
  });

  it('an answer that stalls past the timeout is said as timed out, and retried', async () => {
    const err = await getJson(
      `${base}/stall`,
      schema,
      { ...settings, timeoutMs: 200 },
      'Arbor students',
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'DOORSTEP_MIS_UNAVAILABLE',
      message: `Arbor students (${base}/stall): timed out while reading the answer`,
    });
    expect(asked['/stall']).toBe(3);
  });
});
