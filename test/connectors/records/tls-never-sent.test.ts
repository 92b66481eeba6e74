import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { sinkFetch } from '../../../connectors/records/http.ts';
import { RecordDeliveryError } from '../../../connectors/records/types.ts';

/**
 * A write refused in the TLS handshake (the sink's certificate not trusted, no protocol or cipher in
 * common, a client certificate demanded) never left: nothing reached the sink, so it is not a write
 * that "may have landed" — it is retried as ever, not held for a person to check Arbor first.
 */
let dir: string;
const file = (name: string) => readFileSync(join(dir, name));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'doorstep-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  // A CA this process does not trust, a leaf for localhost it signed, and a self-signed leaf.
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Test CA');
  openssl('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost');
  openssl(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'leaf.crt',
    '-days',
    '2',
  );
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'self.key',
    '-out',
    'self.crt',
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A POST to a local https server set up with `options`: the error, and how many requests it took in. */
async function postTo(options: () => ServerOptions) {
  let requests = 0;
  const server = createServer(options(), (_req, res) => {
    requests++;
    res.end('{}');
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const err = await sinkFetch(
      `https://localhost:${port}/rest-v2/pastoral-notes`,
      { method: 'POST', body: '{}', timeoutMs: 5000 },
      'Arbor pastoral note',
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordDeliveryError);
    const e = err as RecordDeliveryError;
    return { retry: e.advice.retry, mayHaveLanded: e.mayHaveLanded, requests };
  } finally {
    server.close();
  }
}

const neverLeft = { retry: 'backoff', mayHaveLanded: false, requests: 0 };

describe('a write refused in the TLS handshake never left', () => {
  it('the certificate from a CA not trusted here (UNABLE_TO_VERIFY_LEAF_SIGNATURE)', async () => {
    expect(await postTo(() => ({ key: file('leaf.key'), cert: file('leaf.crt') }))).toEqual(neverLeft);
  });

  it('a self-signed certificate, alone or at the top of its chain', async () => {
    expect(await postTo(() => ({ key: file('self.key'), cert: file('self.crt') }))).toEqual(neverLeft);
    expect(
      await postTo(() => ({
        key: file('leaf.key'),
        cert: Buffer.concat([file('leaf.crt'), file('ca.crt')]),
      })),
    ).toEqual(neverLeft);
  });

  it('the sink refusing in the handshake: a client certificate demanded, an old protocol only', async () => {
    expect(
      await postTo(() => ({
        key: file('leaf.key'),
        cert: file('leaf.crt'),
        ca: file('ca.crt'),
        requestCert: true,
        rejectUnauthorized: true,
        maxVersion: 'TLSv1.2',
      })),
    ).toEqual(neverLeft);
    expect(
      await postTo(() => ({
        key: file('leaf.key'),
        cert: file('leaf.crt'),
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      })),
    ).toEqual(neverLeft);
  });
});

describe('by its code', () => {
  // fetch failing as undici fails it: a TypeError whose cause carries the socket's code.
  afterEach(() => vi.restoreAllMocks());
  const landed = async (code: string) => {
    vi.spyOn(globalThis, 'fetch').mockRejectedValueOnce(
      new TypeError('fetch failed', { cause: Object.assign(new Error('refused'), { code }) }),
    );
    const err = (await sinkFetch(
      'https://records.example.test/notes',
      { method: 'POST', timeoutMs: 5000 },
      'CPOMS incident',
    ).catch((e: unknown) => e)) as RecordDeliveryError;
    expect(err).toBeInstanceOf(RecordDeliveryError);
    return err.mayHaveLanded;
  };

  it('the handshake failures Node and OpenSSL name: never sent', async () => {
    const said: [string, boolean][] = [];
    for (const code of [
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ERR_TLS_HANDSHAKE_TIMEOUT',
      'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
      'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE',
      'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
      'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'CERT_HAS_EXPIRED',
      'CERT_NOT_YET_VALID',
      'CERT_REVOKED',
      'INVALID_CA',
      'HOSTNAME_MISMATCH',
    ])
      said.push([code, await landed(code)]);
    expect(said.filter(([, l]) => l)).toEqual([]);
  });

  it('a failure that can come once the request was written: may have landed', async () => {
    const said: [string, boolean][] = [];
    for (const code of [
      'ECONNRESET',
      'EPIPE',
      'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC',
      'ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC',
      'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR',
      'ERR_SSL_UNEXPECTED_EOF_WHILE_READING',
    ])
      said.push([code, await landed(code)]);
    expect(said.filter(([, l]) => !l)).toEqual([]);
  });
});
