import { describe, expect, it } from 'vitest';
import { failureOf } from '../../src/core/outbound-http.ts';
import { retryClassOf } from '../../src/errors.ts';
import { messageSid, teamsDeliveryFailure } from '../../src/notify/http-channels.ts';

/**
 * A provider that answers 200 with an error document (Twilio's `{"status": 429, …}`, Teams' "delivery
 * failed … HTTP error 429") fails as the status it names would — by the one classifier, `failureOf`.
 * Found by review: these two read 425 as refused (permanent) where `failureOf` retries it.
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
      const sms = (() => {
        try {
          messageSid({ status });
        } catch (err) {
          return retryClassOf(err);
        }
      })();
      const teams = retryClassOf(
        teamsDeliveryFailure(
          `Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error ${status}`,
        ),
      );
      expect({ status, sms, teams }).toEqual({ status, sms: classOf(status), teams: classOf(status) });
    }
    // No status named (a proxy's page): the service unavailable, retried.
    expect(() => messageSid({})).toThrow(expect.objectContaining({ code: 'DOORSTEP_CHANNEL_UNAVAILABLE' }));
    expect(teamsDeliveryFailure('Webhook message delivery failed')).toMatchObject({
      code: 'DOORSTEP_CHANNEL_UNAVAILABLE',
    });
    expect(messageSid({ sid: 'SM123' })).toBe('SM123');
  });
});
