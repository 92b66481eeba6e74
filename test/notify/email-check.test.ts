import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secret.ts';
import { EmailChannel } from '../../src/notify/email-channel.ts';
import { startFakeSmtp } from '../helpers/fake-smtp.ts';

describe('e-mail connection test', () => {
  it('fails for a login half given, which the server would never be sent', async () => {
    const smtp = await startFakeSmtp({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth: (_a, _s, cb) => cb(null, { user: 'doorstep' }),
    });
    try {
      const half = new EmailChannel(
        { smtpUrl: smtp.url, username: 'doorstep', from: 'd@alpha.example' },
        () => ['dsl@alpha.example'],
      );
      expect(await half.check()).toEqual({
        name: 'channel:email',
        ok: false,
        detail: 'channels.email: username and password go together (one is given without the other)',
      });
      const whole = new EmailChannel(
        {
          smtpUrl: smtp.url,
          username: 'doorstep',
          password: new Secret('pw', 'env:P'),
          from: 'd@alpha.example',
        },
        () => ['dsl@alpha.example'],
      );
      expect(await whole.check()).toMatchObject({ ok: true });
    } finally {
      await smtp.close();
    }
  });
});
