import { createECDH } from 'node:crypto';

/**
 * Whether a VAPID private key is the pair of a public key (both base64url, as `npx web-push
 * generate-vapid-keys` prints them): the public point is derived from the private key and compared.
 * A pair that is not one signs every push with a key the push services check against another, so
 * every push is refused — while the keys each look well formed. `'unreadable'`: the private key is
 * no P-256 private key at all. Neither key is ever part of what it returns.
 */
export function vapidPairProblem(
  publicKey: string,
  privateKey: string,
): 'mismatch' | 'unreadable' | undefined {
  const key = Buffer.from(privateKey, 'base64url');
  // 32 bytes, as web-push requires (setPrivateKey would take a shorter one).
  if (key.length !== 32 || !/^[A-Za-z0-9_-]+=*$/.test(privateKey)) return 'unreadable';
  let derived: Buffer;
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(key);
    derived = ecdh.getPublicKey();
  } catch {
    return 'unreadable';
  }
  return derived.equals(Buffer.from(publicKey, 'base64url')) ? undefined : 'mismatch';
}

/** What a `vapidPairProblem` means, for a person: neither key shown. */
export function vapidPairWords(problem: 'mismatch' | 'unreadable'): string {
  return problem === 'mismatch'
    ? 'the VAPID private key is not the pair of publicKey (neither shown): the push services would refuse every push — give the private key generated with this public key (npx web-push generate-vapid-keys prints both)'
    : 'the VAPID private key is not a P-256 private key (not shown): expected 43 base64url characters, as npx web-push generate-vapid-keys prints it';
}
