import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { Secret } from '../../src/core/secret.ts';
import { PushChannel } from '../../src/notify/push-channel.ts';

describe('push connection test', () => {
  const a = webpush.generateVAPIDKeys();
  const b = webpush.generateVAPIDKeys();
  const push = (privateKey: string) =>
    new PushChannel(
      {
        publicKey: a.publicKey,
        privateKey: new Secret(privateKey, 'env:VAPID_PRIVATE'),
        subject: 'mailto:it@alpha.example',
        services: ['https://fcm.googleapis.com'],
        ttlSeconds: 600,
      },
      { subscriptionsOf: async () => [], expired: async () => {}, sent: async () => {} },
      async () => ({ schoolName: 'Alpha', personName: null, raisedAt: new Date() }),
    );

  it("fails for a private key that is not the public key's pair (it signs, but no push service would accept it)", async () => {
    const check = await push(b.privateKey).check();
    expect(check).toMatchObject({ name: 'channel:push', ok: false });
    expect(check.detail).toMatch(
      /^channels\.push\.privateKey: the VAPID private key is not the pair of publicKey/,
    );
    for (const key of [a.publicKey, a.privateKey, b.privateKey]) expect(check.detail).not.toContain(key);
    expect(await push(a.privateKey).check()).toMatchObject({ ok: true });
  });
});
