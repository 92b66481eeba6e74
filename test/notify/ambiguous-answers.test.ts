import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deliveryDetail,
  deliveryState,
  MAY_HAVE_BEEN_SENT,
  noOneReached,
} from '../../src/domain/escalation/delivery.ts';
import { PLACING, PLACING_LEFT_MS } from '../../src/domain/recipient-placing.ts';
import { retryClassOf } from '../../src/errors.ts';
import { CallChannel } from '../../src/notify/call-channel.ts';
import {
  memoryReceipts,
  type RecipientReceipts,
  recipientKey,
  SmsChannel,
} from '../../src/notify/http-channels.ts';
import { SEND_BOUND_MS } from '../../src/notify/send-bound.ts';
import { catalog } from '../../src/queue/catalog.ts';
import { calledRecipient, placedCallRecipient, recordKeypress } from '../../src/store/call-answers.ts';
import type { Db } from '../../src/store/db.ts';
import {
  forgetRecipientPlacing,
  recipientReceipts,
  recordRecipientPlacing,
  recordRecipientReceipt,
} from '../../src/store/notify.ts';
import { openStore } from '../../src/store/open.ts';
import { twilioAccount as account, bareProviders } from '../helpers/fake-twilio.ts';
import { notification } from '../helpers/notification.ts';
import { raisedVisitAlarm } from '../helpers/visit-alarm.ts';
import { insert } from '../store/dp-fixtures.ts';

/**
 * A text or call is made again only when its request is known never to have been made: never
 * written, or answered 429, a 503 in the provider's own words (its error document, a Retry-After), a
 * 3xx or another 4xx (in the status, or in a 2xx's error document), or its number refused before
 * sending. An answer that does not say so — a gateway's 502 or 504 once it passed the request on, a
 * 500, a bare 503 (a proxy's page), a 2xx naming no id of the provider's shape — may have been made:
 * "may have been sent", never made again. Found by review: any failure with an answer was read as
 * never made, and the phone texted or rung again on every retry; (a later review) an id of any shape
 * was kept as a phone reached, and a bare 503 taken at its word texted the phone twice.
 */
const n = notification();
/** Ids shaped as Twilio's (`SM`/`CA` and 32 hex digits): the i-th text or call. */
const textSid = (i: number) => `SM${String(i).padStart(32, '0')}`;
const callSid = (i: number) => `CA${String(i).padStart(32, '0')}`;
const { provider, stop } = bareProviders();
const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};
const callChannel = (url: string, receipts: RecipientReceipts, phone = '+447700900001') =>
  new CallChannel(
    account(url),
    { callbackUrl: 'https://d.example/hooks/voice/alpha', ringSeconds: 30, language: 'en-GB' },
    () => [phone],
    async () => ({ schoolName: 'A', personName: null, raisedAt: new Date() }),
    receipts,
  );
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

describe('an answer that does not say the text or call was never made', () => {
  for (const [status, page] of [
    [500, '<html>Internal Server Error</html>'],
    [502, '<html>Bad Gateway</html>'],
    [504, '<html>Gateway Time-out</html>'],
    // A proxy's own 503 once it passed the request on (Envoy's; Heroku's H12/H13 page alike).
    [503, 'upstream connect error or disconnect/reset before headers. reset reason: connection termination'],
  ] as const)
    it(`a bare HTTP ${status} (a gateway or proxy that passed the request on, a provider that failed after taking it): never sent again`, async () => {
      const { seen, url } = await provider((_, res, i) => {
        if (i === 1) return void res.writeHead(status, { 'content-type': 'text/plain' }).end(page);
        json(res, 201, { sid: textSid(2) });
      });
      const receipts = memoryReceipts();
      const sms = new SmsChannel(account(url), () => ['+447700900001'], receipts);
      const err = await failure(sms.send(n));
      expect(retryClassOf(err)).toBe('permanent');
      expect(err?.message).toBe(
        `sms: HTTP ${status}; it may have been sent (no answer), so it is not sent again`,
      );
      const again = await failure(sms.send(n));
      expect(retryClassOf(again)).toBe('permanent');
      expect(seen).toEqual(['+447700900001']);
      expect([...(await receipts.sent(n.id)).values()]).toEqual([MAY_HAVE_BEEN_SENT]);
    });

  it('a call placed (201) under a UUID (a compatible provider’s id): kept as its receipt, never rung again', async () => {
    const sid = '3f1c2b7e-8a4d-4c1e-9f2a-1b2c3d4e5f60';
    const { seen, url } = await provider((_, res) => json(res, 201, { sid, status: 'queued' }));
    const receipts = memoryReceipts();
    const call = callChannel(url, receipts);
    for (let i = 0; i < 3; i++)
      expect(await call.send({ ...n, target: 'call:g' })).toEqual({ receipt: `call ${sid}` });
    expect(seen).toEqual(['+447700900001']);
    // Its status callbacks name it: kept as it came.
    expect([...(await receipts.sent(n.id)).values()]).toEqual([sid]);
  });

  it('a 2xx naming no id of a text’s or call’s shape (none, a proxy’s page, "ok", an Account’s AC…, the other channel’s): may have been sent', async () => {
    const answers: ((res: ServerResponse) => void)[] = [
      (res) => json(res, 201, { status: 'queued' }),
      (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>ok</html>'),
      (res) => json(res, 201, { sid: 'X'.repeat(65) }),
      (res) => json(res, 201, { sid: 'SM 1' }),
      (res) => json(res, 200, { code: 20500, status: 500 }),
      // Named a 503, but not in the provider's words (no numeric code): may have been taken.
      (res) => json(res, 200, { status: 503 }),
      ...['ok', 'x', 'true', `AC${'0'.repeat(32)}`, `SM${'0'.repeat(31)}`, `CA${'g'.repeat(32)}`].map(
        (sid) => (res: ServerResponse) => json(res, 201, { sid }),
      ),
    ];
    for (const channel of ['sms', 'call'] as const)
      for (const answer of answers) {
        const { seen, url } = await provider((_, res) => answer(res));
        const receipts = memoryReceipts();
        const send = () =>
          channel === 'sms'
            ? new SmsChannel(account(url), () => ['+447700900001'], receipts).send(n)
            : callChannel(url, receipts).send({ ...n, target: 'call:g' });
        const err = await failure(send());
        expect(retryClassOf(err)).toBe('permanent');
        expect(err?.message).toMatch(
          new RegExp(
            `^${channel}: the provider answered without a (message|call) sid.*; it may have been sent`,
          ),
        );
        await failure(send());
        expect(seen).toEqual(['+447700900001']);
        await stop();
      }
  });
});

describe('an id is a phone reached only when shaped as the provider’s', () => {
  it('"ok", "x", "true", an Account’s AC…: not kept (it would read "sent, not confirmed" and hide no-one-reached)', async () => {
    // What the board says of a phone whose receipt is kept: reached.
    const kept = {
      target: 'call:g',
      status: 'sent',
      error: null,
      delivered: 0,
      undelivered: 0,
      unreported: 1,
      deliveryErrors: [],
    };
    expect([deliveryState(kept), deliveryDetail(kept), noOneReached([kept])]).toEqual([
      'sent',
      'sent, not confirmed',
      false,
    ]);
    for (const sid of ['ok', 'x', 'true', `AC${'0'.repeat(32)}`]) {
      const { seen, url } = await provider((_, res) => json(res, 200, { sid }));
      const calls = memoryReceipts();
      const texts = memoryReceipts();
      const call = await failure(callChannel(url, calls).send({ ...n, target: 'call:g' }));
      const text = await failure(new SmsChannel(account(url), () => ['+447700900001'], texts).send(n));
      for (const err of [call, text]) {
        expect(retryClassOf(err)).toBe('permanent');
        expect(err?.message).toMatch(
          / sid \(its id is not shaped as a (call|message)'s\); it may have been sent/,
        );
      }
      expect([...(await calls.sent(n.id)).values()]).toEqual([MAY_HAVE_BEEN_SENT]);
      expect([...(await texts.sent(n.id)).values()]).toEqual([MAY_HAVE_BEEN_SENT]);
      expect(seen).toHaveLength(2);
      await stop();
    }
  });

  it('Twilio’s SM…/MM…/CA… (32 hex digits) are kept; one naming another account than ours is not about our request', async () => {
    const mms = `MM${'ab'.repeat(16)}`;
    const answers = [
      { sid: textSid(7), account_sid: 'AC1' },
      { sid: mms },
      { sid: callSid(7), account_sid: 'AC1' },
      { sid: textSid(8), account_sid: 'AC2' },
      { sid: callSid(8), account_sid: 'AC2' },
    ];
    const { url } = await provider((_, res, i) => json(res, 201, answers[i - 1]));
    const sms = () => new SmsChannel(account(url), () => ['+447700900001'], memoryReceipts()).send(n);
    const call = () => callChannel(url, memoryReceipts()).send({ ...n, target: 'call:g' });
    expect(await sms()).toEqual({ receipt: `sms ${textSid(7)}` });
    expect(await sms()).toEqual({ receipt: `sms ${mms}` });
    expect(await call()).toEqual({ receipt: `call ${callSid(7)}` });
    for (const other of [await failure(sms()), await failure(call())]) {
      expect(retryClassOf(other)).toBe('permanent');
      expect(other?.message).toMatch(
        /^(sms|call): the provider answered about another account than ours; it may have been sent/,
      );
    }
  });
});

describe('a 503 taken at its word only in the provider’s own words', () => {
  it('a proxy’s bare 503 once the provider took the text: never sent again (the phone is not texted twice)', async () => {
    const made: string[] = [];
    const { url } = await provider((_, res, i) => {
      made.push(textSid(i)); // the provider made the text each time it was asked
      if (i === 1)
        return void res
          .writeHead(503, { 'content-type': 'text/plain' })
          .end(
            'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
          );
      json(res, 201, { sid: made.at(-1) });
    });
    const sms = new SmsChannel(account(url), () => ['+447700900001'], memoryReceipts());
    const first = await failure(sms.send(n));
    expect(first?.message).toBe('sms: HTTP 503; it may have been sent (no answer), so it is not sent again');
    expect(retryClassOf(await failure(sms.send(n)))).toBe('permanent');
    expect(made).toHaveLength(1);
  });
});

describe('an answer that says the text or call was not made: sent by a retry', () => {
  for (const [what, answer, retryClass] of [
    ['HTTP 429', (res: ServerResponse) => json(res, 429, { code: 20429, status: 429 }), 'transient'],
    [
      'HTTP 503 with the provider’s error document',
      (res: ServerResponse) => json(res, 503, { code: 20503, status: 503 }),
      'transient',
    ],
    [
      'HTTP 503 with Retry-After',
      (res: ServerResponse) => res.writeHead(503, { 'retry-after': '30' }).end('busy'),
      'transient',
    ],
    ['HTTP 400', (res: ServerResponse) => json(res, 400, { code: 21211, status: 400 }), 'permanent'],
    ['HTTP 302', (res: ServerResponse) => res.writeHead(302, { location: '/elsewhere' }).end(), 'permanent'],
    ['a 200 naming 429', (res: ServerResponse) => json(res, 200, { code: 20429, status: 429 }), 'transient'],
    ['a 200 naming 503', (res: ServerResponse) => json(res, 200, { code: 20503, status: 503 }), 'transient'],
    ['a 200 naming 400', (res: ServerResponse) => json(res, 200, { code: 21211, status: 400 }), 'permanent'],
  ] as const)
    it(`${what}: its recipient forgotten, so a retry sends it`, async () => {
      const { seen, url } = await provider((_, res, i) =>
        i === 1 ? answer(res) : json(res, 201, { sid: textSid(2) }),
      );
      const receipts = memoryReceipts();
      const sms = new SmsChannel(account(url), () => ['+447700900001'], receipts);
      const err = await failure(sms.send(n));
      expect(retryClassOf(err)).toBe(retryClass);
      expect(err?.message).not.toMatch(/may have been sent/);
      expect((await receipts.sent(n.id)).size).toBe(0);
      expect(await sms.send(n)).toEqual({ receipt: `sms ${textSid(2)}` });
      expect(seen).toEqual(['+447700900001', '+447700900001']);
    });
});

describe('a recipient left "being placed" (its receipt not kept)', () => {
  it('a text sent whose receipt could not be kept: never sent again, and every later try says it may have been sent', async () => {
    const { seen, url } = await provider((_, res) => json(res, 201, { sid: textSid(1) }));
    const inner = memoryReceipts();
    let down = true;
    const receipts: RecipientReceipts = {
      ...inner,
      record: async (id, key, r) => {
        if (down) {
          down = false;
          throw new Error('Connection terminated unexpectedly');
        }
        return inner.record(id, key, r);
      },
    };
    const sms = new SmsChannel(account(url), () => ['+447700900001'], receipts);
    const first = await failure(sms.send(n));
    expect(first?.message).toBe('Connection terminated unexpectedly');
    // Whichever try is the notify job's last, its words (the notification's failure) are true.
    for (let i = 0; i < 2; i++) {
      const later = await failure(sms.send(n));
      expect(retryClassOf(later)).toBe('transient');
      expect(later?.message).toBe(
        'sms: an earlier try asked the provider for it and its answer is not known; it may have been sent, so it is not sent again',
      );
    }
    expect(seen).toEqual(['+447700900001']);
  });

  it('is taken for one left by a stopped try only past every live try’s bound', () => {
    // A live try has its answer within its 10 s request, and is given up by the send bound and the
    // job's timeout: one younger than those may still be asking, and is left alone.
    expect(PLACING_LEFT_MS).toBeGreaterThan(10_000);
    expect(PLACING_LEFT_MS).toBeGreaterThan(SEND_BOUND_MS);
    expect(PLACING_LEFT_MS).toBeGreaterThan(catalog.jobs.notify.timeoutMs);
    expect(PLACING_LEFT_MS).toBeGreaterThan(catalog.jobs['send-notice'].timeoutMs);
  });
});

describe('a call answered with a keypress while it was being placed', () => {
  let db: Db;
  let notificationId = '';
  beforeAll(async () => {
    db = await openStore({ dataDir: 'memory://' });
    const alarm = await raisedVisitAlarm(db);
    notificationId = await insert(db, 'notifications', {
      alarm_id: alarm,
      step: 0,
      target: 'call:g',
      status: 'pending',
    });
  });
  afterAll(() => db.close());
  const stored = (): RecipientReceipts => ({
    sent: (id) => recipientReceipts(db, id),
    record: (id, k, r) => recordRecipientReceipt(db, id, k, r),
    placing: (id, k) => recordRecipientPlacing(db, id, k),
    forget: (id, k) => forgetRecipientPlacing(db, id, k),
  });

  it('is never forgotten, whatever its caller says: the store keeps the row and its keypress', async () => {
    const key = recipientKey(notificationId, '+447700900009');
    expect(await recordRecipientPlacing(db, notificationId, key)).toBe(true);
    expect(await recordKeypress(db, notificationId, key, new Date())).toBe(true);
    await forgetRecipientPlacing(db, notificationId, key);
    expect(await placedCallRecipient(db, 'alpha', notificationId, key)).toMatchObject({
      recipientKey: key,
      keypressAt: expect.any(Date),
    });
    expect((await recipientReceipts(db, notificationId)).get(key)).toBe(PLACING);
  });

  it('is found by the notification and recipient its signed URL names, whatever its receipt', async () => {
    const key = recipientKey(notificationId, '+447700900008');
    expect(await recordRecipientPlacing(db, notificationId, key)).toBe(true);
    // Kept under the id the provider's answer named; its callbacks name the call by another.
    await recordRecipientReceipt(db, notificationId, key, callSid(41));
    expect(await calledRecipient(db, 'alpha', callSid(42))).toBeUndefined();
    expect(await placedCallRecipient(db, 'alpha', notificationId, key)).toMatchObject({
      notificationId,
      recipientKey: key,
      target: 'call:g',
      keypressAt: null,
    });
    // Never another school's, nor a recipient the notification has not.
    expect(await placedCallRecipient(db, 'beta', notificationId, key)).toBeUndefined();
    expect(
      await placedCallRecipient(db, 'alpha', notificationId, recipientKey(notificationId, '+4477')),
    ).toBeUndefined();
  });

  it('answered by a gateway’s 504: kept "may have been sent" with its keypress, and never rung again', async () => {
    const phone = '+447700900001';
    const key = recipientKey(notificationId, phone);
    const { seen, url } = await provider(async (_, res) => {
      // The provider rang the phone and the person pressed 1 before the gateway gave up.
      await recordKeypress(db, notificationId, key, new Date());
      res.writeHead(504).end();
    });
    const call = callChannel(url, stored(), phone);
    const err = await failure(call.send({ ...n, id: notificationId, target: 'call:g' }));
    expect(retryClassOf(err)).toBe('permanent');
    await failure(call.send({ ...n, id: notificationId, target: 'call:g' }));
    expect(seen).toEqual([phone]);
    expect(await placedCallRecipient(db, 'alpha', notificationId, key)).toMatchObject({
      keypressAt: expect.any(Date),
    });
    expect((await recipientReceipts(db, notificationId)).get(key)).toBe(MAY_HAVE_BEEN_SENT);
  });
});
