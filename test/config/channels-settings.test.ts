import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { parseConfigText } from '../../src/config/load.ts';
import { configProblems, MINIMAL_SCHOOL } from '../helpers/config.ts';

const BASE = `${MINIMAL_SCHOOL}    channels:
`;

function parse(channels: string, env: Record<string, string> = {}) {
  return parseConfigText(`${BASE}${channels}`, { env });
}
const problems = (channels: string, env: Record<string, string> = {}) =>
  configProblems(`${BASE}${channels}`, env);

describe('channels.email: a login is username and password together', () => {
  it('refuses a username without a password, naming channels.email.password', () => {
    expect(
      problems(
        '      email: { smtpUrl: "smtp://mail.example:587", username: doorstep, from: a@s.example }\n',
      ),
    ).toEqual([
      'schools[0].channels.email.password (line 10): required with username: the SMTP login is username and password (a secret, ${ENV_NAME} or file:/path); without it no login is sent',
    ]);
  });

  it('refuses a password without a username, never echoing it', () => {
    const said = problems(
      '      email: { smtpUrl: "smtp://mail.example:587", password: "${P}", from: a@s.example }\n',
      {
        P: 'hunter2-smtp',
      },
    );
    expect(said).toEqual([
      'schools[0].channels.email.username (line 10): required with password: the SMTP login is username and password; without it no login is sent',
    ]);
    expect(said.join()).not.toContain('hunter2');
  });

  it('accepts both, or neither', () => {
    expect(
      parse(
        '      email: { smtpUrl: "smtp://mail.example:587", username: u, password: "${P}", from: a@s.example }\n',
        {
          P: 'x',
        },
      ).ok,
    ).toBe(true);
    expect(parse('      email: { smtpUrl: "smtp://mail.example:587", from: a@s.example }\n').ok).toBe(true);
  });
});

describe('channels.push: the private key is the public key’s pair', () => {
  const a = webpush.generateVAPIDKeys();
  const b = webpush.generateVAPIDKeys();
  const push = (publicKey: string) =>
    `      push: { publicKey: ${publicKey}, privateKey: "\${VAPID_PRIVATE}", subject: "mailto:it@s.example" }\n`;

  it('refuses a private key of another pair, naming channels.push.privateKey and showing neither key', () => {
    const said = problems(push(a.publicKey), { VAPID_PRIVATE: b.privateKey });
    expect(said).toEqual([
      'schools[0].channels.push.privateKey (line 10): the VAPID private key is not the pair of publicKey (neither shown): the push services would refuse every push — give the private key generated with this public key (npx web-push generate-vapid-keys prints both)',
    ]);
    for (const key of [a.publicKey, a.privateKey, b.publicKey, b.privateKey])
      expect(said.join()).not.toContain(key);
  });

  it('refuses a private key that is no P-256 key at all', () => {
    expect(problems(push(a.publicKey), { VAPID_PRIVATE: 'not-a-key' })).toEqual([
      'schools[0].channels.push.privateKey (line 10): the VAPID private key is not a P-256 private key (not shown): expected 43 base64url characters, as npx web-push generate-vapid-keys prints it',
    ]);
  });

  it('accepts a pair', () => {
    expect(parse(push(a.publicKey), { VAPID_PRIVATE: a.privateKey }).ok).toBe(true);
  });
});

describe('channels.teams and google-chat: the resolved URL is an https URL', () => {
  for (const kind of ['teams', 'google-chat']) {
    it(`refuses a ${kind} URL that is not one, or not https, naming channels.${kind}.url and never showing it`, () => {
      const line = `      ${kind}: { url: "\${HOOK}" }\n`;
      const notUrl = problems(line, { HOOK: 'hooks.example.com/webhookb2/SECRETTOKEN' });
      expect(notUrl).toEqual([
        `schools[0].channels.${kind}.url (line 10): expected the incoming webhook's https URL (not shown: what is set is not a URL)`,
      ]);
      const plain = problems(line, { HOOK: 'http://hooks.example.com/webhookb2/SECRETTOKEN' });
      expect(plain).toEqual([
        `schools[0].channels.${kind}.url (line 10): expected the incoming webhook's https URL (not shown: what is set is a http: URL; http only for localhost)`,
      ]);
      expect([...notUrl, ...plain].join()).not.toContain('SECRETTOKEN');
      expect(parse(line, { HOOK: 'https://hooks.example.com/webhookb2/SECRETTOKEN' }).ok).toBe(true);
      // A local relay (or a test's fake) over plain http.
      expect(parse(line, { HOOK: 'http://127.0.0.1:9/hook' }).ok).toBe(true);
    });
  }
});

describe('channels.sms.from and channels.call.from: the number alarms come from, read as E.164', () => {
  const sms = (from: string) => `      sms: { accountSid: AC1, authToken: "\${T}", from: "${from}" }\n`;
  const call = (from: string) =>
    `${sms('+447700900000')}      call: { callbackUrl: "https://d.example/hooks/voice/s", from: "${from}" }\n`;

  it('keeps a number typed nationally or with spaces as E.164, the From Twilio takes', () => {
    for (const typed of ['07700 900999', '+44 7700 900999', '0044 7700-900999', '+44 (0)7700 900999']) {
      const r = parse(call(typed).replace('+447700900000', typed), { T: 't' });
      expect(r.ok && r.config.schools[0]!.channels.sms!.from).toBe('+447700900999');
      expect(r.ok && r.config.schools[0]!.channels.call!.from).toBe('+447700900999');
    }
  });

  it('refuses one that cannot be read as a phone number, naming the setting', () => {
    expect(problems(sms('0770'), { T: 't' })).toEqual([
      `schools[0].channels.sms.from (line 10): cannot be read as a phone number: give the provider's number texts are sent from, such as +447700900123 or 07700 900123, got "0770"`,
    ]);
    expect(problems(call('+44 07700 900999'), { T: 't' })).toEqual([
      `schools[0].channels.call.from (line 11): cannot be read as a phone number: give the provider's number calls are made from, such as +447700900123 or 07700 900123, got "+44 07700 900999"`,
    ]);
  });

  it('refuses a letter sender id: alarm texts ask for a reply (which cannot be turned off), and a call needs a number', () => {
    expect(problems(sms('Doorstep'), { T: 't' })).toEqual([
      `schools[0].channels.sms.from (line 10): a letter sender id is not a phone number: no one can reply to a text from one, and every alarm text asks for a reply (replyPrompt) — give the provider's number texts are sent from, such as +447700900123, got "Doorstep"`,
    ]);
    expect(problems(call('Doorstep'), { T: 't' })).toEqual([
      `schools[0].channels.call.from (line 11): a letter sender id is not a phone number: a call is made from a number — give the provider's number calls are made from, such as +447700900123, got "Doorstep"`,
    ]);
  });
});
