import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secret.ts';
import type { Notification } from '../../src/notify/channel.ts';
import { EmailChannel } from '../../src/notify/email-channel.ts';
import {
  ChatWebhookChannel,
  memoryReceipts,
  type RecipientReceipts,
} from '../../src/notify/http-channels.ts';
import { startFakeSmtp } from '../helpers/fake-smtp.ts';

/**
 * Which window an e-mail's and a chat post's receipts cover, as docs/escalation.md says it: they are
 * written after the server's answer (250, 2xx), never before the send as a text's phone is. Written,
 * a retry (the notification's "sent" not recorded) sends nothing again; not written — the database
 * away just as the server answers — the retry sends again: a doubled alarm e-mail or post, never a
 * lost one.
 */
const n: Notification = {
  id: '42',
  alarmId: '7',
  schoolId: 'alpha',
  step: 0,
  target: 'email:dsl',
  alarmType: 'sos',
  deviceId: 'PS-0001',
  staffId: 'staff-17',
};
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
});

/** Receipts whose writes fail while `away.now` (the database away as the server answers). */
function awayAtFirst(): { receipts: RecipientReceipts; away: { now: boolean } } {
  const kept = memoryReceipts();
  const away = { now: true };
  return {
    away,
    receipts: {
      ...kept,
      record: async (id, key, r) => {
        if (away.now) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
        return kept.record(id, key, r);
      },
    },
  };
}

async function chatServer() {
  let posts = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      res.end('1');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return {
    url: new Secret(`http://127.0.0.1:${(server.address() as AddressInfo).port}/chat`, 'env:CHAT_URL'),
    posts: () => posts,
  };
}

describe("an e-mail's receipts: written after the server's 250", () => {
  it('written: a retry (its "sent" not recorded) e-mails no one again', async () => {
    const smtp = await startFakeSmtp();
    closers.push(smtp.close);
    const email = new EmailChannel(
      { smtpUrl: smtp.url, from: 'd@school.example' },
      () => ['a@school.example', 'b@school.example'],
      undefined,
      memoryReceipts(),
    );
    const first = await email.send(n);
    expect(await email.send(n)).toEqual(first);
    expect(smtp.received.sort()).toEqual(['a@school.example', 'b@school.example']);
  });

  it('not written (the database away as the server answers): the retry e-mails everyone again', async () => {
    const smtp = await startFakeSmtp();
    closers.push(smtp.close);
    const { receipts, away } = awayAtFirst();
    const email = new EmailChannel(
      { smtpUrl: smtp.url, from: 'd@school.example' },
      () => ['a@school.example', 'b@school.example'],
      undefined,
      receipts,
    );
    await expect(email.send({ ...n, id: '43' })).rejects.toThrow(/Connection terminated/);
    away.now = false;
    await email.send({ ...n, id: '43' });
    // Doubled, never lost.
    expect(smtp.received.sort()).toEqual([
      'a@school.example',
      'a@school.example',
      'b@school.example',
      'b@school.example',
    ]);
  });
});

describe("a chat post's receipt: written after the webhook's 2xx", () => {
  it('written: a retry posts nothing again; not written: the retry posts again', async () => {
    const kept = await chatServer();
    const chat = new ChatWebhookChannel('google-chat', kept.url, memoryReceipts());
    await chat.send({ ...n, target: 'google-chat' });
    await chat.send({ ...n, target: 'google-chat' });
    expect(kept.posts()).toBe(1);

    const lost = await chatServer();
    const { receipts, away } = awayAtFirst();
    const again = new ChatWebhookChannel('google-chat', lost.url, receipts);
    await expect(again.send({ ...n, id: '44', target: 'google-chat' })).rejects.toThrow(
      /Connection terminated/,
    );
    away.now = false;
    await again.send({ ...n, id: '44', target: 'google-chat' });
    expect(lost.posts()).toBe(2);
  });
});
