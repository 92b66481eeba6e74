import { describe, expect, it } from 'vitest';
import { failureOf, statusMayHaveLanded } from '../../src/core/outbound-http.ts';
import { retryClassOf } from '../../src/errors.ts';
import { teamsDeliveryFailure, twilioSid } from '../../src/notify/http-channels.ts';

/**
 * A provider that answers 200 with an error document (Twilio's `{"status": 429, …}`, Teams' "delivery
 * failed … HTTP error 429") fails as the status it names would — by the one classifier, `failureOf`.
 * Found by review: these two read 425 as refused (permanent) where `failureOf` retries it; and (a
 * later review) the call channel refused for good the same answer that the SMS channel retried. A
 * text's or call's answer that names a status that may come after the request was made (a 5xx but
 * 503: `statusMayHaveLanded`; a 503 without the provider's numeric error code), or none, is "may have
 * been sent" — failed for good, never made again.
 */
describe('a failure named inside a 200 answer', () => {
  const classOf = (status: number) => {
    const f = failureOf({ status, headers: new Headers() }, { refuse4xx: true });
    return !f
      ? 'unavailable'
      : f.kind === 'auth'
        ? 'config'
        : f.kind === 'refused'
          ? 'permanent'
          : 'transient';
  };
  it('is classed as failureOf classes that status, for every 4xx and 5xx', () => {
    for (let status = 400; status < 600; status++) {
      const classOfAnswer = (channel: 'sms' | 'call') => {
        try {
          // Twilio's error document: its numeric code beside the status.
          twilioSid(channel, { code: 20_000 + status, status }, 'AC1');
        } catch (err) {
          return retryClassOf(err);
        }
      };
      const sms = classOfAnswer('sms');
      const call = classOfAnswer('call');
      const teams = retryClassOf(
        teamsDeliveryFailure(
          `Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error ${status}`,
        ),
      );
      const twilio = statusMayHaveLanded(status) ? 'permanent' : classOf(status);
      expect({ status, sms, call, teams }).toEqual({
        status,
        sms: twilio,
        call: twilio,
        teams: classOf(status),
      });
    }
    // No status named (a proxy's page): it may have been sent, never sent again.
    for (const channel of ['sms', 'call'] as const)
      expect(() => twilioSid(channel, {}, 'AC1')).toThrow(/may have been sent/);
    // A 503 named without the provider's code (no error document of its own): may have been sent.
    for (const channel of ['sms', 'call'] as const)
      expect(() => twilioSid(channel, { status: 503 }, 'AC1')).toThrow(/may have been sent/);
    expect(teamsDeliveryFailure('Webhook message delivery failed')).toMatchObject({
      code: 'DOORSTEP_CHANNEL_UNAVAILABLE',
    });
    const text = `SM${'0123456789abcdef'.repeat(2)}`;
    expect(twilioSid('sms', { sid: text }, 'AC1')).toBe(text);
    expect(twilioSid('sms', { sid: `MM${'A'.repeat(32)}` }, 'AC1')).toBe(`MM${'A'.repeat(32)}`);
    expect(twilioSid('call', { sid: `CA${'a'.repeat(32)}` }, 'AC1')).toBe(`CA${'a'.repeat(32)}`);
    expect(() => twilioSid('call', { sid: 'a b' }, 'AC1')).toThrow(/may have been sent/);
    // A text's id is no call's, nor a call's a text's.
    expect(() => twilioSid('call', { sid: text }, 'AC1')).toThrow(/may have been sent/);
    expect(() => twilioSid('sms', { sid: `CA${'a'.repeat(32)}` }, 'AC1')).toThrow(/may have been sent/);
  });
});
