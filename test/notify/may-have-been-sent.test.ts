import dns from 'node:dns';
import { afterEach, describe, expect, it } from 'vitest';
import { MAY_HAVE_BEEN_SENT } from '../../src/domain/escalation/delivery.ts';
import { retryClassOf } from '../../src/errors.ts';
import { CallChannel } from '../../src/notify/call-channel.ts';
import { memoryReceipts, SmsChannel } from '../../src/notify/http-channels.ts';
import { bareProviders, twilioAccount } from '../helpers/fake-twilio.ts';
import { notification } from '../helpers/notification.ts';

/**
 * A text or call asked for whose answer never came — the connection reset once the request was
 * written, the answer cut off — may have been made: never made again (the phone texted or rung a
 * second time, the first call's keypress matched to nothing), failed for good so the alarm moves
 * on. One that is known never to have been written (no connection) is retried as ever.
 */
const n = notification();
const { provider, stop } = bareProviders();
const lookup = dns.lookup;
afterEach(() => {
  dns.lookup = lookup;
});
const account = (baseUrl: string) => twilioAccount(baseUrl, 'Reply 1 {code} to take this alarm.');

describe('a text or call that may have been made without an answer', () => {
  it('SMS: the connection reset after the request went is not sent again; the others are', async () => {
    let first = true;
    const { seen, url } = await provider((to, res) => {
      if (to === '+447700900001') return res.socket!.destroy();
      if (first) {
        first = false;
        // The provider's own 503 (its error document): not taken.
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"code":20503,"status":503}');
        return;
      }
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end('{"sid":"SM00000000000000000000000000000002"}');
    });
    const receipts = memoryReceipts();
    const sms = new SmsChannel(account(url), () => ['+447700900001', '+447700900002'], receipts);
    // The other's 503 passes: the notification is retried…
    const err1 = await sms.send(n).catch((e: unknown) => e);
    expect(retryClassOf(err1)).toBe('transient');
    // …and its retry sends to it alone, never to the phone whose text may have gone.
    const err2 = (await sms.send(n).catch((e: unknown) => e)) as Error;
    expect(seen).toEqual(['+447700900001', '+447700900002', '+447700900002']);
    expect(retryClassOf(err2)).toBe('permanent');
    expect(err2.message).toBe(
      'sms: an earlier try had no answer; it may have been sent (no answer), so it is not sent again',
    );
    expect([...(await receipts.sent('42')).values()].sort()).toEqual(
      [MAY_HAVE_BEEN_SENT, 'SM00000000000000000000000000000002'].sort(),
    );
  });

  it('a call whose 201 was cut off is not placed again: failed for good, saying it may have been', async () => {
    const { seen, url } = await provider((_, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"sid":"CA');
      setTimeout(() => res.socket!.destroy(), 20);
    });
    const receipts = memoryReceipts();
    const call = new CallChannel(
      account(url),
      { callbackUrl: 'https://d.example/hooks/voice/alpha', ringSeconds: 30, language: 'en-GB' },
      () => ['+447700900001'],
      async () => ({ schoolName: 'A', personName: null, raisedAt: new Date() }),
      receipts,
    );
    const err = (await call.send({ ...n, target: 'call:g' }).catch((e: unknown) => e)) as Error;
    expect(retryClassOf(err)).toBe('permanent');
    expect(err.message).toMatch(
      /^call: HTTP 201, its answer cut off \(\w+\); it may have been sent \(no answer\), so it is not sent again$/,
    );
    await call.send({ ...n, target: 'call:g' }).catch(() => {});
    expect(seen).toEqual(['+447700900001']);
    expect([...(await receipts.sent('42')).values()]).toEqual([MAY_HAVE_BEEN_SENT]);
  });

  it('a provider whose name took past the 10 s to resolve was asked nothing: retried, then texted', async () => {
    const { seen, url } = await provider((_, res) => {
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end('{"sid":"SM00000000000000000000000000000001"}');
    });
    // The provider's name: no answer from the resolver this once (a resolver retrying), then localhost.
    let stalled = false;
    (dns as { lookup: unknown }).lookup = (host: string, ...rest: unknown[]) => {
      if (host !== 'api.provider.test') return (lookup as (...a: unknown[]) => unknown)(host, ...rest);
      if (!stalled) {
        stalled = true;
        return;
      }
      return (lookup as (...a: unknown[]) => unknown)('127.0.0.1', ...rest);
    };
    const receipts = memoryReceipts();
    const sms = new SmsChannel(
      account(url.replace('127.0.0.1', 'api.provider.test')),
      () => ['+447700900001'],
      receipts,
    );
    const err = (await sms.send(n).catch((e: unknown) => e)) as Error;
    expect(retryClassOf(err)).toBe('transient');
    expect(err.message).toBe('sms: no connection within 10 s');
    expect(seen).toEqual([]);
    expect((await receipts.sent('42')).size).toBe(0);
    // Its retry texts the phone.
    expect(await sms.send(n)).toEqual({ receipt: 'sms SM00000000000000000000000000000001' });
    expect(seen).toEqual(['+447700900001']);
  }, 20_000);

  it('a request written and not answered within 10 s may have been sent: never sent again', async () => {
    const { seen, url } = await provider(() => {});
    const receipts = memoryReceipts();
    const sms = new SmsChannel(account(url), () => ['+447700900001'], receipts);
    const err = (await sms.send(n).catch((e: unknown) => e)) as Error;
    expect(retryClassOf(err)).toBe('permanent');
    expect(err.message).toBe(
      'sms: no answer within 10 s after it was asked for; it may have been sent (no answer), so it is not sent again',
    );
    expect(seen).toEqual(['+447700900001']);
    expect([...(await receipts.sent('42')).values()]).toEqual([MAY_HAVE_BEEN_SENT]);
  }, 20_000);

  it('a connection never made (refused) sent nothing: retried as ever, nothing recorded', async () => {
    const { url } = await provider(() => {});
    await stop();
    const receipts = memoryReceipts();
    const sms = new SmsChannel(account(url), () => ['+447700900001'], receipts);
    const err = (await sms.send(n).catch((e: unknown) => e)) as Error;
    expect(retryClassOf(err)).toBe('transient');
    expect(err.message).toBe('sms: ECONNREFUSED');
    expect((await receipts.sent('42')).size).toBe(0);
  });
});
