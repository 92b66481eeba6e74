import { describe, expect, it } from 'vitest';
import { twilioSignature, verifyTwilioSignature } from '../../src/notify/twilio-signature.ts';

// The vectors Twilio publishes with its own Node client (twilio-node spec/validation.spec.js).
const token = '12345';
const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const params = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};

describe("Twilio's request signature", () => {
  it('matches the vendor’s published vectors', () => {
    expect(twilioSignature(token, url, params)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(verifyTwilioSignature(token, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', url, params)).toBe(true);
    // Signed with the standard port added: still Twilio's.
    expect(verifyTwilioSignature(token, 'kvajT1Ptam85bY51eRf/AJRuM3w=', url, params)).toBe(true);
    // An explicit port that Twilio stripped when signing.
    expect(
      verifyTwilioSignature(token, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', url.replace('.com', '.com:1234'), params),
    ).toBe(true);
    expect(
      twilioSignature(token, url, { Sid: 'CA123', SidAccount: 'AC123', Digits: ['5678', '1234', '1234'] }),
    ).toBe('IK+Dwps556ElfBT0I3Rgjkr1wJU=');
  });

  it('accepts the form without the port when the configured URL spells out its scheme’s default port', () => {
    // Found by review: `new URL` drops a default port, so "https://host:443/…" was tried only as
    // given and with :443 — never without the port, the form Twilio's own client also tries.
    const form = { MessageSid: 'SM1', From: '+447700900001', Body: '1 1234' };
    for (const [configured, signed] of [
      ['https://doorstep.example.org:443/hooks/sms/alpha', 'https://doorstep.example.org/hooks/sms/alpha'],
      ['http://doorstep.example.org:80/hooks/sms/alpha', 'http://doorstep.example.org/hooks/sms/alpha'],
      ['https://doorstep.example.org/hooks/sms/alpha', 'https://doorstep.example.org:443/hooks/sms/alpha'],
      [
        'https://doorstep.example.org:443/hooks/sms/alpha',
        'https://doorstep.example.org:443/hooks/sms/alpha',
      ],
    ] as const)
      expect(
        verifyTwilioSignature(token, twilioSignature(token, signed, form), configured, form),
        configured,
      ).toBe(true);
    // Another port is another URL.
    const elsewhere = twilioSignature(token, 'https://doorstep.example.org:8443/hooks/sms/alpha', form);
    expect(
      verifyTwilioSignature(token, elsewhere, 'https://doorstep.example.org:443/hooks/sms/alpha', form),
    ).toBe(false);
  });

  it('refuses a wrong, missing or replayed-elsewhere signature', () => {
    expect(verifyTwilioSignature(token, 'WRONG_SIGNATURE', url, params)).toBe(false);
    expect(verifyTwilioSignature(token, undefined, url, params)).toBe(false);
    expect(verifyTwilioSignature(token, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', `${url}&x=1`, params)).toBe(false);
    expect(verifyTwilioSignature('another', 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', url, params)).toBe(false);
  });

  it('refuses, never throws, when the URL is no URL (a request whose Host header is "a b")', () => {
    expect(
      verifyTwilioSignature(token, 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', 'http://a b/hooks/sms/alpha', params),
    ).toBe(false);
  });
});
