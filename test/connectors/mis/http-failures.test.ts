import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ArborSource } from '../../../connectors/mis/arbor/source.ts';
import { getJson } from '../../../connectors/mis/http.ts';
import { Secret } from '../../../src/core/secret.ts';

/**
 * Failures below the status line, against a local server (a real connection to cut): every one is read
 * by the one outbound-HTTP classifier (src/core/outbound-http.ts `unreachable`), named by the MIS and
 * the page, and retried as a network error — or, a request that can never be made, not retried.
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

  it('no connection is named by its network code, retried', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(
      getJson(`http://127.0.0.1:${port}/students`, schema, settings, 'Wonde students'),
    ).rejects.toMatchObject({
      code: 'DOORSTEP_MIS_UNAVAILABLE',
      message: `Wonde students (http://127.0.0.1:${port}/students): ECONNREFUSED`,
    });
    expect(waits).toEqual([1000, 2000]);
  });

  it('a URL with a user and password in it is never quoted, and not retried (it can never be sent)', async () => {
    const url = `${base.replace('//', '//doorstep:hunter2@')}/ok`;
    const err = await getJson(url, schema, settings, 'Wonde students').catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'DOORSTEP_CONFIG_INVALID',
      message: expect.stringMatching(
        new RegExp(
          `^Wonde students \\(${base}/ok\\): the request could not be made .*; check the MIS base URL`,
        ),
      ),
    });
    expect(String((err as Error).message)).not.toContain('hunter2');
    expect(waits).toEqual([]);
    expect(asked['/ok']).toBeUndefined();
    // The connection test (the data page, `doorstep check`) says the same, without the password.
    const check = await new ArborSource({
      baseUrl: 'https://doorstep:hunter2@heathlane.uk.arbor.sc',
      username: 'doorstep-app',
      password: new Secret('s3cret', 'env:T'),
      http: settings,
    }).check();
    expect(check.ok).toBe(false);
    expect(check.detail).not.toContain('hunter2');
    expect(waits).toEqual([]);
  });
});
