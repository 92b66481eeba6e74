import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local push service that holds Doorstep to the Web Push contract, written with node:crypto alone
 * (not the library Doorstep sends with):
 *
 * - RFC 8030: `POST <endpoint>` with a `TTL` header; 201 when accepted; 404/410 for a subscription
 *   that is gone (`gone`);
 * - RFC 8292 (VAPID): `Authorization: vapid t=<JWT>, k=<public key>`; the JWT is ES256, signed with
 *   the key in `k` (which must be the expected one), `aud` the service's origin, `exp` in the future
 *   and at most 24 hours away, `sub` a mailto: or https: contact — else 401/403;
 * - RFC 8291 / 8188: `Content-Encoding: aes128gcm`, the body decrypted with the browser's private key
 *   and auth secret (a body that does not decrypt is refused 400).
 */
export interface Browser {
  /** The subscription as the browser gives it (`PushSubscription.toJSON()`). */
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } };
  privateKey: Buffer;
  authSecret: Buffer;
}

export interface Received {
  path: string;
  ttl: string;
  urgency: string | undefined;
  claims: { aud: string; exp: number; sub: string };
  payload: unknown;
}

export interface FakePushService {
  origin: string;
  received: Received[];
  refused: string[];
  /** Paths whose subscription has expired (answered 410). */
  gone: Set<string>;
  browser(name: string): Browser;
  close(): Promise<void>;
}

const b64u = (b: Buffer) => b.toString('base64url');

/** Decrypts one aes128gcm body (RFC 8188 framing, RFC 8291 keys) for the browser. */
export function decryptWebPush(body: Buffer, browser: { privateKey: Buffer; authSecret: Buffer }): Buffer {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const senderPublic = body.subarray(21, 21 + idlen);
  const records = body.subarray(21 + idlen);
  if (idlen !== 65 || records.length > rs) throw new Error('unexpected aes128gcm header');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(browser.privateKey);
  const shared = ecdh.computeSecret(senderPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), ecdh.getPublicKey(), senderPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', shared, browser.authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(records.subarray(records.length - 16));
  const plain = Buffer.concat([decipher.update(records.subarray(0, records.length - 16)), decipher.final()]);
  // Padding: the last record ends with 0x02 then zeros.
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Error('no last-record delimiter');
  return plain.subarray(0, end);
}

/** Verifies the VAPID JWT with the raw public key (an uncompressed P-256 point, base64url). */
function verifyJwt(jwt: string, publicKey: string): { aud: string; exp: number; sub: string } | string {
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) return 'not a JWT';
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  if (header.alg !== 'ES256' || header.typ !== 'JWT') return `header ${JSON.stringify(header)}`;
  const point = Buffer.from(publicKey, 'base64url');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33, 65)) },
    format: 'jwk',
  });
  const ok = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  if (!ok) return 'signature does not verify';
  return JSON.parse(Buffer.from(p, 'base64url').toString());
}

export async function startFakePushService(expectedPublicKey: string): Promise<FakePushService> {
  const received: Received[] = [];
  const refused: string[] = [];
  const gone = new Set<string>();
  let origin = '';
  const browsers = new Map<string, Browser>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const refuse = (status: number, why: string) => {
        refused.push(`${status} ${why}`);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(why);
      };
      const browser = [...browsers.values()].find((b) => new URL(b.subscription.endpoint).pathname === path);
      if (req.method !== 'POST' || !browser) return refuse(404, 'no such subscription');
      if (gone.has(path)) return refuse(410, 'push subscription has unsubscribed or expired');
      const ttl = req.headers.ttl;
      if (typeof ttl !== 'string' || !/^\d+$/.test(ttl)) return refuse(400, 'TTL header required');
      const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(String(req.headers.authorization ?? ''));
      if (!m) return refuse(401, 'vapid authorization required');
      if (m[2] !== expectedPublicKey) return refuse(403, 'k is not the expected key');
      const claims = verifyJwt(m[1]!, m[2]!);
      if (typeof claims === 'string') return refuse(403, claims);
      const now = Math.floor(Date.now() / 1000);
      if (claims.aud !== origin) return refuse(403, `aud ${claims.aud}`);
      if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) return refuse(403, `exp ${claims.exp}`);
      if (!/^(mailto:|https:)/.test(claims.sub)) return refuse(403, `sub ${claims.sub}`);
      if (req.headers['content-encoding'] !== 'aes128gcm') return refuse(415, 'aes128gcm expected');
      let payload: unknown;
      try {
        payload = JSON.parse(decryptWebPush(Buffer.concat(chunks), browser).toString('utf8'));
      } catch (err) {
        return refuse(400, `does not decrypt: ${(err as Error).message}`);
      }
      received.push({
        path,
        ttl,
        urgency: req.headers.urgency as string | undefined,
        claims,
        payload,
      });
      res.writeHead(201, { location: `${origin}/messages/${received.length}` }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    received,
    refused,
    gone,
    browser(name) {
      const known = browsers.get(name);
      if (known) return known;
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const authSecret = randomBytes(16);
      const b: Browser = {
        subscription: {
          endpoint: `${origin}/push/${name}`,
          keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(authSecret) },
        },
        privateKey: ecdh.getPrivateKey(),
        authSecret,
      };
      browsers.set(name, b);
      return b;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
