import { createServer } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import nock from 'nock';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secret.ts';
import { verifyStandardWebhook } from '../../src/core/standard-webhooks.ts';
import { retryClassOf } from '../../src/errors.ts';
import { CallChannel } from '../../src/notify/call-channel.ts';
import type { Notification } from '../../src/notify/channel.ts';
import { EmailChannel } from '../../src/notify/email-channel.ts';
import {
  ChatWebhookChannel,
  memoryReceipts,
  SignedWebhookChannel,
  SmsChannel,
} from '../../src/notify/http-channels.ts';
import { SEND_BOUND_MS, withinSendBound } from '../../src/notify/send-bound.ts';
import { smsReplyCode } from '../../src/notify/sms-reply.ts';
import { startFakeSmtp } from '../helpers/fake-smtp.ts';

const n: Notification = {
  id: '42',
  alarmId: '7',
  schoolId: 'alpha',
  step: 0,
  target: 'sms:on-call-leaders',
  alarmType: 'sos',
  deviceId: 'PS-0001',
  staffId: 'staff-17',
};
/** An id shaped as a Twilio message's (`SM` and 32 hex digits): the i-th text. */
const sm = (i: number | string) => `SM${String(i).padStart(32, '0')}`;
const SECRET = `whsec_${Buffer.from('notification-webhook-secret!!').toString('base64')}`;

beforeAll(() => nock.disableNetConnect());
afterAll(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('notification channels', () => {
  it('SMS: one Twilio-compatible message per phone in the group, with the alarm in the text', async () => {
    const bodies: string[] = [];
    nock('https://sms.example.test', {
      reqheaders: { authorization: `Basic ${Buffer.from('AC123:tok').toString('base64')}` },
    })
      .post('/2010-04-01/Accounts/AC123/Messages.json', (b) => {
        bodies.push(new URLSearchParams(b as string).toString());
        return true;
      })
      .times(2)
      .reply(201, () => ({ sid: sm(bodies.length) }));
    const sms = new SmsChannel(
      {
        baseUrl: 'https://sms.example.test',
        accountSid: 'AC123',
        authToken: new Secret('tok', 'env:T'),
        from: '+447700900000',
      },
      () => ['+447700900001', '+447700900002'],
    );
    expect(await sms.send(n)).toEqual({ receipt: `sms ${sm(1)},${sm(2)}` });
    const first = new URLSearchParams(bodies[0]);
    expect(first.get('To')).toBe('+447700900001');
    expect(first.get('From')).toBe('+447700900000');
    expect(first.get('Body')).toBe(
      'DOORSTEP ALARM #7: SOS from staff staff-17 (device PS-0001), escalation level 1. Acknowledge on the Doorstep board.',
    );
  });

  it('SMS: ends with the school’s reply prompt and the alarm’s code', async () => {
    let body = '';
    nock('https://sms.example.test')
      .post('/2010-04-01/Accounts/AC9/Messages.json', (b) => {
        body = new URLSearchParams(b as string).get('Body') ?? '';
        return true;
      })
      .reply(201, { sid: sm(9) });
    const sms = new SmsChannel(
      {
        baseUrl: 'https://sms.example.test',
        accountSid: 'AC9',
        authToken: new Secret('tok', 'env:T'),
        from: '+447700900000',
        replyPrompt: 'Reply 1 {code} to take this alarm, 2 {code} when the worker is safe.',
      },
      () => ['+447700900001'],
    );
    await sms.send({ ...n, id: '99' });
    const code = smsReplyCode('tok', n.alarmId);
    expect(code).toMatch(/^\d{4}$/);
    expect(body).toMatch(
      new RegExp(
        `Acknowledge on the Doorstep board\\. Reply 1 ${code} to take this alarm, 2 ${code} when the worker is safe\\.$`,
      ),
    );
  });

  it("SMS: never to the people the alarm is about (its wearer, on any number format); the register's visiting-staff text has no reply code", async () => {
    const bodies = new Map<string, string>();
    nock('https://sms.example.test')
      .post('/2010-04-01/Accounts/AC9/Messages.json', (b) => {
        const f = new URLSearchParams(b as string);
        bodies.set(`${f.get('To')}`, f.get('Body') ?? '');
        return true;
      })
      .times(2)
      .reply(201, { sid: sm(9) });
    const asked: string[] = [];
    let about = { userIds: ['5'], phones: ['07700 900002'] };
    const sms = new SmsChannel(
      {
        baseUrl: 'https://sms.example.test',
        accountSid: 'AC9',
        authToken: new Secret('tok', 'env:T'),
        from: '+447700900000',
        replyPrompt: 'Reply 1 {code} to take this alarm, 2 {code} when the worker is safe.',
      },
      (g) => (g === 'visiting-staff' ? ['+447700900005'] : ['+447700900001', '+447700900002']),
      memoryReceipts(),
      // The head of school wears PS-0001 too: their phone (recorded on the visit nationally) is the wearer's.
      async (x) => {
        asked.push(x.alarmId);
        return about;
      },
    );
    const code = smsReplyCode('tok', n.alarmId);
    await sms.send({ ...n, id: '100' });
    expect(bodies.get('+447700900001')).toContain(`Reply 1 ${code}`);
    expect(bodies.has('+447700900002')).toBe(false);
    expect(asked).toEqual(['7']);
    // The register's own overdue alarm asks the worker themselves (no reply code: not theirs to take).
    about = { userIds: [], phones: ['+447700900005'] };
    const overdue = { ...n, target: 'sms:visiting-staff', alarmType: 'overdue_visit', deviceId: null };
    await sms.send({ ...overdue, id: '101' });
    expect(bodies.get('+447700900005')).not.toContain(code);
    // A fob's alarm never goes to the wearer, whatever the ladder names: a phone buzzing "SOS" or
    // "DURESS" in the hand of someone in danger can give them away. Failed for good: the next level.
    for (const device of [
      { ...n, id: '103', target: 'sms:visiting-staff' },
      { ...n, id: '104', target: 'sms:visiting-staff', alarmType: 'duress' },
      // The phone page's I need help is raised by no device, and is not a reminder either.
      { ...overdue, id: '105', alarmType: 'sos' },
    ]) {
      const refused = await sms.send(device).catch((e: unknown) => e);
      expect((refused as Error).message, device.alarmType).toContain('is someone the alarm is about');
    }
    // A group of only the people the alarm is about: nothing sent, failed for good (the next level now).
    about = { userIds: [], phones: ['+447700900001', '+44 7700 900002'] };
    const err = await sms.send({ ...n, id: '102' }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('is someone the alarm is about');
    expect(retryClassOf(err)).not.toBe('transient');
    expect(bodies.size).toBe(2);
  });

  it('a ladder call never rings the person the alarm is about; a group of only them fails for good (the next level, now)', async () => {
    const rung: string[] = [];
    nock('https://call.example.test')
      .post('/2010-04-01/Accounts/AC9/Calls.json', (b) => {
        rung.push(new URLSearchParams(b as string).get('To') ?? '');
        return true;
      })
      .times(2)
      .reply(201, () => ({ sid: `CA${String(rung.length).padStart(32, '0')}` }));
    let about = { userIds: [] as string[], phones: ['+447700900002'] };
    const call = new CallChannel(
      {
        baseUrl: 'https://call.example.test',
        accountSid: 'AC9',
        authToken: new Secret('tok', 'env:T'),
        from: '+447700900000',
        replyPrompt: '',
      },
      { callbackUrl: 'https://doorstep.example/hooks/voice/alpha', ringSeconds: 25, language: 'en-GB' },
      () => ['+447700900001', '+447700900002'],
      async () => ({ schoolName: 'Alpha', personName: 'Wren Worker', raisedAt: new Date() }),
      memoryReceipts(),
      async () => about,
    );
    // The wearer is in the group: only the other phone rings.
    await call.send({ ...n, id: '200', target: 'call:leaders' });
    expect(rung).toEqual(['+447700900001']);
    // Everyone in the group is someone the alarm is about: nothing rung, a permanent failure.
    about = { userIds: [], phones: ['+447700900001', '07700 900002'] };
    const err = await call.send({ ...n, id: '201', target: 'call:leaders' }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('is someone the alarm is about');
    expect(retryClassOf(err)).not.toBe('transient');
    expect(rung).toEqual(['+447700900001']);
    nock.cleanAll();
  });

  it('SMS: a group’s phones are texted all at once (the first waits for no one)', async () => {
    // The provider answers the first phone only once the second has been asked: sent one after the
    // other, the first would wait until its 10 s ran out.
    let second: () => void = () => {};
    const secondAsked = new Promise<void>((r) => {
      second = r;
    });
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', async () => {
        const to = new URLSearchParams(body).get('To');
        if (to === '+447700900002') second();
        else await secondAsked;
        res
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ sid: sm(to!.slice(1)) }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    nock.enableNetConnect('127.0.0.1');
    try {
      const sms = new SmsChannel(
        {
          baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          accountSid: 'AC9',
          authToken: new Secret('tok', 'env:T'),
          from: '+447700900000',
        },
        () => ['+447700900001', '+447700900002'],
      );
      expect(await sms.send({ ...n, id: '300' })).toEqual({
        receipt: `sms ${sm('447700900001')},${sm('447700900002')}`,
      });
    } finally {
      nock.disableNetConnect();
      await new Promise((r) => server.close(r));
    }
  });

  it('SMS: a group without phones fails loudly, and an HTTP error is an error', async () => {
    const none = new SmsChannel(
      {
        baseUrl: 'https://sms.example.test',
        accountSid: 'AC1',
        authToken: new Secret('t', 'env:T'),
        from: '+44',
      },
      () => [],
    );
    await expect(none.send(n)).rejects.toThrow('sms: no phone numbers in contacts group "on-call-leaders"');
    nock('https://sms.example.test')
      .post(/Messages\.json$/)
      .reply(503, { code: 20503, message: 'Service Unavailable', status: 503 });
    const one = new SmsChannel(
      {
        baseUrl: 'https://sms.example.test',
        accountSid: 'AC1',
        authToken: new Secret('t', 'env:T'),
        from: '+44',
      },
      () => ['+447700900001'],
    );
    await expect(one.send(n)).rejects.toThrow(/^sms: HTTP 503 \(error 20503\)$/);
  });

  it('SMS: a retry after a failure part-way sends only to the phones not yet reached', async () => {
    const to: string[] = [];
    nock('https://sms.example.test')
      .post(
        '/2010-04-01/Accounts/AC1/Messages.json',
        (b) => to.push(new URLSearchParams(b as string).get('To')!) > 0,
      )
      .reply(201, { sid: sm(1) })
      .post(
        '/2010-04-01/Accounts/AC1/Messages.json',
        (b) => to.push(new URLSearchParams(b as string).get('To')!) > 0,
      )
      .reply(503, 'busy', { 'retry-after': '5' })
      .post(
        '/2010-04-01/Accounts/AC1/Messages.json',
        (b) => to.push(new URLSearchParams(b as string).get('To')!) > 0,
      )
      .reply(201, { sid: sm(2) });
    const receipts = memoryReceipts();
    const settings = {
      baseUrl: 'https://sms.example.test',
      accountSid: 'AC1',
      authToken: new Secret('t', 'env:T'),
      from: '+44',
    };
    const phones = () => ['+447700900001', '+447700900002'];
    const failed = await new SmsChannel(settings, phones, receipts).send(n).catch((e: unknown) => e);
    expect(retryClassOf(failed)).toBe('transient');
    expect(await new SmsChannel(settings, phones, receipts).send(n)).toEqual({
      receipt: `sms ${sm(1)},${sm(2)}`,
    });
    expect(to).toEqual(['+447700900001', '+447700900002', '+447700900002']);
  });

  it('SMS: asks for delivery reports at the status URL; a phone refused for good never keeps the others from their text', async () => {
    const bodies: URLSearchParams[] = [];
    nock('https://sms.example.test')
      .post(
        '/2010-04-01/Accounts/AC1/Messages.json',
        (b) => bodies.push(new URLSearchParams(b as string)) > 0,
      )
      .reply(400, { code: 21211, message: 'invalid To' })
      .post(
        '/2010-04-01/Accounts/AC1/Messages.json',
        (b) => bodies.push(new URLSearchParams(b as string)) > 0,
      )
      .reply(201, { sid: sm(3) });
    const sms = new SmsChannel(
      {
        baseUrl: 'https://sms.example.test',
        accountSid: 'AC1',
        authToken: new Secret('t', 'env:T'),
        from: '+44',
        inboundUrl: 'https://doorstep.example.org/hooks/sms/alpha',
      },
      () => ['+447700900001', '+447700900002'],
    );
    const failed = await sms.send({ ...n, id: '77' }).catch((e: unknown) => e);
    expect(retryClassOf(failed)).toBe('permanent');
    expect(bodies.map((b) => b.get('To'))).toEqual(['+447700900001', '+447700900002']);
    expect(bodies.map((b) => b.get('StatusCallback'))).toEqual([
      'https://doorstep.example.org/hooks/sms/alpha/status',
      'https://doorstep.example.org/hooks/sms/alpha/status',
    ]);
  });

  it('SMS and calls: a number as typed (an MIS’s family number) is posted in E.164; one that is no phone number is refused alone, never posted', async () => {
    // Found by review: numbers went to the provider as written ("01632 960123"), which Twilio
    // refuses (21211): the family, or the worker on a visit, never got the text.
    const to: string[] = [];
    const provider = (resource: string, sid: () => string) =>
      nock('https://sms.example.test')
        .post(`/2010-04-01/Accounts/AC1/${resource}`, (b) => {
          to.push(new URLSearchParams(b as string).get('To') ?? '');
          return true;
        })
        .times(2)
        .reply(201, () => ({ sid: sid() }));
    const account = {
      baseUrl: 'https://sms.example.test',
      accountSid: 'AC1',
      authToken: new Secret('t', 'env:T'),
      from: '+447700900000',
      replyPrompt: '',
    };
    provider('Messages.json', () => sm(to.length));
    const family = { ...n, id: '80', target: 'sms:family', notice: { subject: 'Visit', text: 'A visit' } };
    const sms = new SmsChannel(account, () => ['01632 960123', '+44 (0)7700 900002']);
    expect(await sms.send(family)).toEqual({ receipt: `sms ${sm(1)},${sm(2)}` });
    expect(to).toEqual(['+441632960123', '+447700900002']);
    // A number the MIS holds that is no phone number: that recipient fails for good, named by neither.
    to.length = 0;
    provider('Messages.json', () => sm(to.length));
    const err = await new SmsChannel(account, () => ['ask at office', '01632 960123'])
      .send({ ...family, id: '81' })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'sms: a number of the group cannot be read as a phone number (not sent to it)',
    );
    expect(retryClassOf(err)).toBe('permanent');
    expect(to).toEqual(['+441632960123']);
    nock.cleanAll();
    // A call rings the number as E.164 too (its keypress and outcome name the number rung).
    to.length = 0;
    provider('Calls.json', () => `CA${String(to.length).padStart(32, '0')}`);
    const call = new CallChannel(
      account,
      { callbackUrl: 'https://doorstep.example/hooks/voice/alpha', ringSeconds: 25, language: 'en-GB' },
      () => ['07700 900001'],
      async () => ({ schoolName: 'Alpha', personName: null, raisedAt: new Date() }),
    );
    await call.send({ ...n, id: '82', target: 'call:leaders' });
    expect(to).toEqual(['+447700900001']);
    nock.cleanAll();
  });

  it('a phone listed twice in a group (one mobile under two names, two spellings) is texted once and rung once, its call id kept', async () => {
    // Found by review: each listing was texted and rung, and the second call's id was lost to the
    // first's receipt (one per recipient), so its keypress and outcome could never be matched.
    const to: string[] = [];
    nock('https://sms.example.test')
      .post(
        '/2010-04-01/Accounts/AC1/Messages.json',
        (b) => to.push(new URLSearchParams(b as string).get('To')!) > 0,
      )
      .reply(201, () => ({ sid: sm(to.length) }))
      .post(
        '/2010-04-01/Accounts/AC1/Calls.json',
        (b) => to.push(new URLSearchParams(b as string).get('To')!) > 0,
      )
      .reply(201, () => ({ sid: `CA${String(to.length).padStart(32, '0')}` }));
    const account = {
      baseUrl: 'https://sms.example.test',
      accountSid: 'AC1',
      authToken: new Secret('t', 'env:T'),
      from: '+447700900000',
      replyPrompt: '',
    };
    const group = () => ['+447700900001', '07700 900001', '+44 7700 900001'];
    expect(await new SmsChannel(account, group).send({ ...n, id: '90' })).toEqual({
      receipt: `sms ${sm(1)}`,
    });
    expect(to).toEqual(['+447700900001']);
    to.length = 0;
    const receipts = memoryReceipts();
    const call = new CallChannel(
      account,
      { callbackUrl: 'https://doorstep.example/hooks/voice/alpha', ringSeconds: 25, language: 'en-GB' },
      group,
      async () => ({ schoolName: 'Alpha', personName: null, raisedAt: new Date() }),
      receipts,
    );
    const placed = await call.send({ ...n, id: '91', target: 'call:leaders' });
    expect(to).toEqual(['+447700900001']);
    const sid = `CA${'1'.padStart(32, '0')}`;
    expect(placed).toEqual({ receipt: `call ${sid}` });
    expect([...(await receipts.sent('91')).values()]).toEqual([sid]);
    nock.cleanAll();
  });

  it('e-mail: an address listed twice in a group, in any case, is e-mailed once', async () => {
    const smtp = await startFakeSmtp();
    nock.enableNetConnect('127.0.0.1');
    try {
      const email = new EmailChannel({ smtpUrl: smtp.url, from: 'doorstep@school.example' }, () => [
        'dsl@school.example',
        'DSL@School.example ',
        'deputy@school.example',
      ]);
      await email.send({ ...n, target: 'email:dsl' });
      expect(smtp.received).toEqual(['dsl@school.example', 'deputy@school.example']);
    } finally {
      nock.disableNetConnect();
      await smtp.close();
    }
  });

  it('channels read HTTP failures as every outbound call does: refused credentials are not retried', async () => {
    nock('https://chat.example.test')
      .post('/hook')
      .reply(401, 'no')
      .post('/hook')
      .reply(429, 'slow')
      .post('/hook')
      .reply(400, 'bad');
    const chat = new ChatWebhookChannel('teams', new Secret('https://chat.example.test/hook', 'env:T'));
    const codes = [];
    for (let i = 0; i < 3; i++) {
      const err = await chat.send(n).catch((e: unknown) => e);
      codes.push([(err as { code?: string }).code, retryClassOf(err)]);
    }
    expect(codes).toEqual([
      ['DOORSTEP_CHANNEL_AUTH', 'config'],
      ['DOORSTEP_CHANNEL_UNAVAILABLE', 'transient'],
      ['DOORSTEP_CHANNEL_REFUSED', 'permanent'],
    ]);
  });

  it('Teams and Google Chat: a JSON text post to the incoming webhook', async () => {
    const seen: unknown[] = [];
    nock('https://chat.example.test')
      .post('/teams-hook', (b) => seen.push(b) > 0)
      .reply(200, '1')
      .post('/gchat-hook', (b) => seen.push(b) > 0)
      .reply(200, {});
    await new ChatWebhookChannel('teams', new Secret('https://chat.example.test/teams-hook', 'env:T')).send(
      n,
    );
    await new ChatWebhookChannel(
      'google-chat',
      new Secret('https://chat.example.test/gchat-hook', 'env:T'),
    ).send(n);
    expect(seen).toEqual([
      { text: expect.stringContaining('DOORSTEP ALARM #7') },
      { text: expect.stringContaining('SOS from staff staff-17') },
    ]);
  });

  it('a 2xx that says the send failed is no delivery: an SMS or call answer without a sid (read alike), a Teams "delivery failed"', async () => {
    const sms = (receipts = memoryReceipts()) =>
      new SmsChannel(
        {
          baseUrl: 'https://sms2xx.example.test',
          accountSid: 'AC9',
          authToken: new Secret('t', 'env:T'),
          from: '+44',
        },
        () => ['+447700900001'],
        receipts,
      );
    const route = () => nock('https://sms2xx.example.test').post('/2010-04-01/Accounts/AC9/Messages.json');
    // Twilio's error document answered with 200 (a proxy, a compatible provider): the 429 it names.
    route().reply(200, { code: 20429, message: 'Too Many Requests', status: 429 });
    const receipts = memoryReceipts();
    const limited = await sms(receipts)
      .send(n)
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Error);
    expect(retryClassOf(limited)).toBe('transient');
    expect((await receipts.sent(n.id)).size).toBe(0);
    // A page that is not the API's at all names no id: the provider may have sent it (a proxy that
    // passed it on), so it fails for good as "may have been sent" — never a phone reached, nor texted again.
    route().reply(200, '<html>maintenance</html>', { 'content-type': 'text/html' });
    expect(
      retryClassOf(
        await sms()
          .send(n)
          .catch((e: unknown) => e),
      ),
    ).toBe('permanent');
    // One that names a refusal is not retried.
    route().reply(200, { code: 21211, message: 'Invalid To', status: 400 });
    expect(
      retryClassOf(
        await sms()
          .send(n)
          .catch((e: unknown) => e),
      ),
    ).toBe('permanent');
    route().reply(201, { sid: 'SM0123456789abcdef0123456789abcdef' });
    expect(await sms().send(n)).toEqual({ receipt: 'sms SM0123456789abcdef0123456789abcdef' });

    // A ladder call reads the same answers the same way (found by review: it refused the 429 for good).
    const call = new CallChannel(
      {
        baseUrl: 'https://sms2xx.example.test',
        accountSid: 'AC9',
        authToken: new Secret('t', 'env:T'),
        from: '+44',
        replyPrompt: '',
      },
      { callbackUrl: 'https://doorstep.example/hooks/voice/alpha', ringSeconds: 25, language: 'en-GB' },
      () => ['+447700900001'],
      async () => ({ schoolName: 'Alpha', personName: null, raisedAt: new Date() }),
    );
    const ring = () => nock('https://sms2xx.example.test').post('/2010-04-01/Accounts/AC9/Calls.json');
    const callClass = async () =>
      retryClassOf(await call.send({ ...n, id: '43', target: 'call:leaders' }).catch((e: unknown) => e));
    ring().reply(200, { code: 20429, message: 'Too Many Requests', status: 429 });
    expect(await callClass()).toBe('transient');
    ring().reply(200, '<html>maintenance</html>', { 'content-type': 'text/html' });
    expect(await callClass()).toBe('permanent');
    ring().reply(200, { code: 21211, message: 'Invalid To', status: 400 });
    expect(await callClass()).toBe('permanent');

    const teams = new ChatWebhookChannel('teams', new Secret('https://chat2xx.example.test/hook', 'env:T'));
    const said = (status: number) =>
      `Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error ${status} with ContextId tcid=0,server=msgapi,cv=x.0..`;
    nock('https://chat2xx.example.test')
      .post('/hook')
      .reply(200, said(429), { 'content-type': 'text/plain' });
    const busy = await teams.send({ ...n, target: 'teams' }).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(Error);
    expect(retryClassOf(busy)).toBe('transient');
    nock('https://chat2xx.example.test')
      .post('/hook')
      .reply(200, said(413), { 'content-type': 'text/plain' });
    expect(retryClassOf(await teams.send({ ...n, target: 'teams' }).catch((e: unknown) => e))).toBe(
      'permanent',
    );
    nock('https://chat2xx.example.test').post('/hook').reply(200, '1');
    expect(await teams.send({ ...n, target: 'teams' })).toEqual({ receipt: 'teams posted' });
  });

  it('generic webhook: signed per Standard Webhooks, verifiable by the receiver', async () => {
    const now = new Date('2025-11-18T10:00:00Z');
    let verified: unknown;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        verified = verifyStandardWebhook(Buffer.concat(chunks), req.headers, [SECRET], now);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    nock.enableNetConnect('127.0.0.1');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/doorstep`;
      const r = await new SignedWebhookChannel({ url, secret: new Secret(SECRET, 'env:T') }, () => now).send(
        n,
      );
      expect(r).toEqual({ receipt: 'webhook notification_42' });
      expect(verified).toMatchObject({ ok: true, id: 'notification_42' });
      // A notice is numbered apart from alarm notifications: its own id and type (a receiver that
      // de-duplicates on webhook-id never drops notice 42 as alarm notification 42 again).
      const notice = await new SignedWebhookChannel(
        { url, secret: new Secret(SECRET, 'env:T') },
        () => now,
      ).send({
        ...n,
        notice: { subject: 'child not seen', text: 'Home visit #7: child not seen' },
      });
      expect(notice).toEqual({ receipt: 'webhook notice_42' });
      expect(verified).toMatchObject({ ok: true, id: 'notice_42' });
    } finally {
      nock.disableNetConnect();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a provider’s refusal keeps its status and error code only, never its text (which quotes the recipient)', async () => {
    nock('https://sms.example.test').post('/2010-04-01/Accounts/AC1/Messages.json').reply(400, {
      code: 21211,
      message: "The 'To' number +447700900123 is not a valid phone number.",
      more_info: 'https://www.twilio.com/docs/errors/21211',
      status: 400,
    });
    const sms = new SmsChannel(
      {
        baseUrl: 'https://sms.example.test',
        accountSid: 'AC1',
        authToken: new Secret('t', 'env:T'),
        from: '+44',
      },
      () => ['+447700900123'],
    );
    const refused = (await sms.send(n).catch((e: unknown) => e)) as Error;
    expect(refused.message).toBe('sms: HTTP 400 (error 21211)');
    expect(retryClassOf(refused)).toBe('permanent');
    // A chat webhook answering in prose, and a JSON error whose "code" is no code: the status only.
    nock('https://chat.example.test').post('/hook').reply(400, 'Bad payload for jo.bloggs@school.example');
    const chat = new ChatWebhookChannel('teams', new Secret('https://chat.example.test/hook', 'env:U'));
    await expect(chat.send(n)).rejects.toThrow(/^teams: HTTP 400$/);
    nock('https://chat.example.test')
      .post('/hook')
      .reply(404, { error: { code: '+447700900123', message: 'no such user jo.bloggs@school.example' } });
    await expect(chat.send(n)).rejects.toThrow(/^teams: HTTP 404$/);
    // Google's and Microsoft's shape: the nested code.
    nock('https://chat.example.test')
      .post('/hook')
      .reply(400, {
        error: { code: 400, message: 'Invalid JSON for Jo Bloggs', status: 'INVALID_ARGUMENT' },
      });
    await expect(chat.send(n)).rejects.toThrow(/^teams: HTTP 400 \(error 400\)$/);
  });

  it('e-mail: a refused recipient keeps the SMTP reply code only, never the address the server quotes', async () => {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onRcptTo(address, _session, callback) {
        const err = Object.assign(new Error(`<${address.address}>: Recipient address rejected`), {
          responseCode: 550,
        });
        callback(err);
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as AddressInfo).port;
    nock.enableNetConnect('127.0.0.1');
    try {
      const email = new EmailChannel(
        { smtpUrl: `smtp://127.0.0.1:${port}`, from: 'doorstep@school.example' },
        () => ['jo.bloggs@school.example'],
      );
      const err = (await email.send({ ...n, target: 'email:dsl' }).catch((e: unknown) => e)) as Error;
      expect(err.message).toBe('email: EENVELOPE (SMTP 550)');
      expect(retryClassOf(err)).toBe('permanent');
      expect(
        JSON.stringify({ ...err, message: err.message, stack: err.stack, cause: err.cause }),
      ).not.toContain('jo.bloggs');
    } finally {
      nock.disableNetConnect();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('e-mail: a server that takes the connection and never greets fails the send as transient (within nodemailer’s greeting bound, not its 30 s default)', async () => {
    const sockets: Socket[] = [];
    const server = createNetServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    nock.enableNetConnect('127.0.0.1');
    try {
      const email = new EmailChannel(
        { smtpUrl: `smtp://127.0.0.1:${port}`, from: 'doorstep@school.example' },
        () => ['dsl@school.example'],
      );
      // Bounded here by the send bound the jobs use, with room: nodemailer gives up first.
      const err = (await withinSendBound(
        email.send({ ...n, target: 'email:dsl' }),
        'email',
        SEND_BOUND_MS,
      ).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/^email: ETIMEDOUT/);
      expect(retryClassOf(err)).toBe('transient');
    } finally {
      nock.disableNetConnect();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 30_000);

  it('e-mail: signs in to the SMTP server with the configured username and password', async () => {
    const signedIn: string[] = [];
    const server = new SMTPServer({
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      onAuth(auth, _session, callback) {
        if (auth.username === 'doorstep' && auth.password === 'smtp-pass') {
          signedIn.push(auth.username);
          callback(null, { user: auth.username });
        } else callback(new Error('Invalid username or password'));
      },
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as AddressInfo).port;
    nock.enableNetConnect('127.0.0.1');
    try {
      const email = new EmailChannel(
        {
          smtpUrl: `smtp://127.0.0.1:${port}`,
          username: 'doorstep',
          password: new Secret('smtp-pass', 'env:SMTP_PASSWORD'),
          from: 'doorstep@school.example',
        },
        () => ['dsl@school.example'],
      );
      expect((await email.send({ ...n, target: 'email:dsl' })).receipt).toMatch(/^email </);
      expect(signedIn).toEqual(['doorstep']);
    } finally {
      nock.disableNetConnect();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a send still under way when its bound passes is failed for good, never sent again (it may yet go)', async () => {
    const err = (await withinSendBound(new Promise(() => {}), 'sms', 50).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('sms: no answer within 0.05 s; it may still have gone, so it is not sent again');
    expect(retryClassOf(err)).toBe('permanent');
  });

  it('e-mail: a server answering each step slowly, past the send bound, gets the message once — the send is failed, not retried', async () => {
    // Found by review: each SMTP step answered within nodemailer's 8 s socket timeout never trips it,
    // while all of them pass the send bound: the send was counted a transient failure and retried —
    // up to six times, each delivering. Now it is failed for good (the ladder's next level at once)
    // and the message that was under way arrives once.
    const received: string[] = [];
    const slow = (cb: () => void) => setTimeout(cb, 800);
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onConnect: (_s, cb) => slow(() => cb()),
      onMailFrom: (_a, _s, cb) => slow(() => cb()),
      onRcptTo: (_a, _s, cb) => slow(() => cb()),
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () =>
          slow(() => {
            received.push(...session.envelope.rcptTo.map((r) => r.address));
            callback();
          }),
        );
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as AddressInfo).port;
    nock.enableNetConnect('127.0.0.1');
    try {
      const email = new EmailChannel(
        { smtpUrl: `smtp://127.0.0.1:${port}`, from: 'doorstep@school.example' },
        () => ['dsl@school.example', 'deputy@school.example'],
      );
      const sending = email.send({ ...n, target: 'email:dsl' });
      const err = (await withinSendBound(sending, 'email', 2000).catch((e: unknown) => e)) as Error;
      expect(err.message).toBe(
        'email: no answer within 2 s; it may still have gone, so it is not sent again',
      );
      expect(retryClassOf(err)).toBe('permanent');
      expect(received).toEqual([]);
      // The send went on, and the server took the message: once.
      expect((await sending).receipt).toMatch(/^email </);
      expect(received).toEqual(['dsl@school.example', 'deputy@school.example']);
    } finally {
      nock.disableNetConnect();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 15_000);

  it('e-mail: a server silent past the socket timeout after the whole message is not sent again; silent before it, retried', async () => {
    // Silence after the message's final "." (a slow content scan): the server may commit it before it
    // answers, so a retry could deliver it twice. Silence before it (during RCPT): nothing was sent.
    const received: string[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onRcptTo(address, _s, cb) {
        if (address.address.startsWith('stall')) setTimeout(() => cb(), 9_000);
        else cb();
      },
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () => {
          received.push(...session.envelope.rcptTo.map((r) => r.address));
          setTimeout(() => callback(), 9_000);
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as AddressInfo).port;
    nock.enableNetConnect('127.0.0.1');
    try {
      const to = (address: string) =>
        new EmailChannel({ smtpUrl: `smtp://127.0.0.1:${port}`, from: 'doorstep@school.example' }, () => [
          address,
        ])
          .send({ ...n, target: 'email:dsl' })
          .then(
            () => new Error('sent'),
            (e: unknown) => e as Error,
          );
      const [after, before] = await Promise.all([to('dsl@school.example'), to('stall@school.example')]);
      expect(after.message).toBe(
        'email: ETIMEDOUT after the message was handed to the server, before it answered; it may have gone, so it is not sent again',
      );
      expect(retryClassOf(after)).toBe('permanent');
      expect(before.message).toBe('email: ETIMEDOUT');
      expect(retryClassOf(before)).toBe('transient');
      expect(received).toEqual(['dsl@school.example']);
    } finally {
      nock.disableNetConnect();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 20_000);

  it('e-mail: delivered over SMTP to a local server', async () => {
    const received: { to: string[]; data: string }[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        let data = '';
        stream.on('data', (c: Buffer) => {
          data += c.toString();
        });
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
          callback();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as AddressInfo).port;
    nock.enableNetConnect('127.0.0.1');
    try {
      const email = new EmailChannel(
        { smtpUrl: `smtp://127.0.0.1:${port}`, from: 'doorstep@school.example' },
        () => ['dsl@school.example', 'head@school.example'],
      );
      const r = await email.send({ ...n, target: 'email:dsl' });
      expect(r.receipt).toMatch(/^email </);
      expect(received).toHaveLength(1);
      expect(received[0]!.to).toEqual(['dsl@school.example', 'head@school.example']);
      expect(received[0]!.data).toContain('Subject: Doorstep alarm #7: sos');
      expect(received[0]!.data).toContain('DOORSTEP ALARM #7');

      // Sent again (its "sent" not recorded): each address has its receipt, so nothing is sent.
      expect(await email.send({ ...n, target: 'email:dsl' })).toEqual(r);
      expect(received).toHaveLength(1);

      // With the wearer's name and the board's address (looked up as it is sent: email-details.ts).
      await email.send({
        ...n,
        id: `${n.id}-named`,
        target: 'email:dsl',
        staffName: 'Vic Visitor',
        boardUrl: 'https://doorstep.school.example/board',
      });
      const text = quotedPrintable(received[1]!.data);
      expect(text).toContain('SOS from Vic Visitor (staff staff-17) (device PS-0001)');
      expect(text).toContain('Open the board: https://doorstep.school.example/board');

      // Never to the person the alarm is about (their account's address, however cased).
      const wary = new EmailChannel(
        { smtpUrl: `smtp://127.0.0.1:${port}`, from: 'doorstep@school.example' },
        () => ['dsl@school.example', 'head@school.example'],
        async () => ({ userIds: [], phones: [], emails: ['Head@School.example'] }),
      );
      await wary.send({ ...n, target: 'email:dsl' });
      expect(received[2]!.to).toEqual(['dsl@school.example']);
    } finally {
      nock.disableNetConnect();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('connection tests send nothing to anyone', async () => {
    nock('https://sms.example.test')
      .get('/2010-04-01/Accounts/AC123.json')
      .reply(200, { sid: 'AC123' })
      .get('/2010-04-01/Accounts/AC123.json')
      .reply(401, {});
    const sms = new SmsChannel(
      {
        baseUrl: 'https://sms.example.test',
        accountSid: 'AC123',
        authToken: new Secret('tok', 'env:T'),
        from: '+44',
      },
      () => [],
    );
    expect(await sms.check()).toMatchObject({ ok: true, name: 'channel:sms' });
    expect(await sms.check()).toMatchObject({ ok: false, detail: expect.stringContaining('HTTP 401') });
    nock('https://chat.example.test').head('/teams-hook').reply(405);
    expect(
      await new ChatWebhookChannel(
        'teams',
        new Secret('https://chat.example.test/teams-hook', 'env:T'),
      ).check(),
    ).toMatchObject({
      ok: true,
      detail: 'https://chat.example.test answered (HTTP 405); nothing was posted',
    });
    // A chat URL with a user and password: fetch refuses it quoting the URL; the check shows its origin only.
    const withUser = await new ChatWebhookChannel(
      'teams',
      new Secret('https://hook:S3cretHook@chat.example.test/teams-hook', 'env:T'),
    ).check();
    expect(withUser).toMatchObject({ ok: false, name: 'channel:teams' });
    expect(withUser.detail).toMatch(/^https:\/\/chat\.example\.test: /);
    expect(withUser.detail).not.toMatch(/S3cretHook|hook:/);
    nock.enableNetConnect('127.0.0.1');
    try {
      const email = new EmailChannel({ smtpUrl: 'smtp://127.0.0.1:1', from: 'x@y.z' }, () => []);
      expect(await email.check()).toMatchObject({ ok: false, detail: expect.stringMatching(/^SMTP: /) });
    } finally {
      nock.disableNetConnect();
    }
  });
});

/** The body as written (nodemailer sends long lines quoted-printable: soft breaks and =XX escapes). */
function quotedPrintable(data: string): string {
  return data
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}
