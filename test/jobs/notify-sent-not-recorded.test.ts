import type { Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { escalate } from '../../jobs/escalate.ts';
import { notify } from '../../jobs/notify.ts';
import { ingestFobEvent } from '../../src/alarms/ingest.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { JobRun } from '../../src/queue/worker-host.ts';
import type { Db } from '../../src/store/db.ts';
import { configWith } from '../helpers/config.ts';
import { startFakeChannels } from '../helpers/fake-channels.ts';
import { type FakeSmtp, startFakeSmtp } from '../helpers/fake-smtp.ts';
import { startFakeTwilio } from '../helpers/fake-twilio.ts';
import { fobEvent } from '../helpers/fob.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';
import { until } from '../helpers/wait.ts';

/**
 * The send went out, then the store could not record it as sent (a database blip as the provider
 * answered). The notify job's retry must not send it again, on any channel: each text, e-mail
 * address and chat post is kept as it is sent, and the retry finds it so.
 */
const TOKEN = 'sms-auth-token-sent-not-recorded';
const q = storeAndQueue('sent_not_recorded');
const log = createLogger({ level: 'silent' });
let smtp: FakeSmtp;
let twilio: Server;
let chats: Awaited<ReturnType<typeof startFakeChannels>>;
const texts: string[] = [];
let config: DoorstepConfig;
const TARGETS = ['email:leaders', 'google-chat', 'sms:leaders', 'teams'];

const run = (attempt: number): JobRun => ({
  id: `snr-${attempt}`,
  name: 'notify',
  attempt,
  maxAttempts: 6,
  signal: new AbortController().signal,
});

beforeAll(async () => {
  smtp = await startFakeSmtp();
  chats = await startFakeChannels();
  let url: string;
  ({ server: twilio, url } = await startFakeTwilio({
    token: TOKEN,
    handle: ({ to }, answer) => {
      texts.push(to);
      answer(201, { sid: `SM${String(texts.length).padStart(32, '0')}` });
    },
  }));
  config = configWith({
    env: { SMS_TOKEN: TOKEN, TEAMS_URL: `${chats.url}/teams`, CHAT_URL: `${chats.url}/chat` },
    school: `    escalation:
      alarm:
        levels:
          - { afterMinutes: 0, notify: [board, email:leaders, sms:leaders, teams, google-chat] }
          - { afterMinutes: 10, notify: [board] }
    contacts:
      leaders: [{ name: Head, phone: "+447700900001", email: head@school.example }, { name: Deputy, phone: "+447700900002", email: deputy@school.example }]
    channels:
      sms: { baseUrl: "${url}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
      email: { smtpUrl: "${smtp.url}", from: doorstep@school.example }
      teams: { url: "\${TEAMS_URL}" }
      google-chat: { url: "\${CHAT_URL}" }
`,
  });
});
afterAll(async () => {
  await smtp.close();
  chats.close();
  twilio.closeAllConnections();
  twilio.close();
});

it('a notification sent but not recorded as sent is not sent again by its retry (e-mail, chat and SMS alike)', async () => {
  // A store whose "sent" write fails once per notification (the send itself went out).
  const failedOnce = new Set<string>();
  const flaky = new Proxy(q.db, {
    get(target, prop, receiver) {
      if (prop === 'query')
        return async (sql: string, params?: unknown[]) => {
          if (/SET status = 'sent'/.test(sql) && !failedOnce.has(String(params?.[0]))) {
            failedOnce.add(String(params?.[0]));
            throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
          }
          return target.query(sql, params as never);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as Db;
  const deps: JobDeps = {
    db: flaky,
    log,
    producer: q.producer,
    now: () => new Date(),
    instance: 't',
    config,
    publisher: q.conn,
  };
  const r = await ingestFobEvent(
    { db: q.db, producer: q.producer, publisher: q.conn, prefix: q.prefix },
    config.schools[0]!,
    fobEvent('snr-1'),
    { transport: 'webhook', profile: 'peoplesafe-style', raw: Buffer.from('{}') },
  );
  const alarmId = (r as { alarmId: string }).alarmId;
  await escalate({ alarmId, step: 0 }, run(1), deps);
  const tried = async () => {
    const { rows } = await q.db.query<{ id: string; target: string; attempts: number }>(
      `SELECT id, target, attempts FROM notifications WHERE alarm_id = $1 AND target <> 'board' ORDER BY target`,
      [alarmId],
    );
    return rows;
  };
  // The step's own first try of the texts and chat posts (not e-mail's: its job's): sent, the
  // "sent" write failed, one attempt counted.
  const pending = await until(
    async () => {
      const rows = await tried();
      return rows.length === TARGETS.length &&
        rows.every((x) => x.target.startsWith('email:') || x.attempts >= 1)
        ? rows
        : null;
    },
    20_000,
    'the step to try its texts and chat posts',
  );
  // The e-mail's first try, by its job: sent, its "sent" write failed.
  const email = pending.find((x) => x.target === 'email:leaders')!;
  await notify({ notificationId: email.id }, run(1), deps).catch(() => {});
  expect((await tried()).every((x) => x.attempts === 1)).toBe(true);
  // Each notification's job retries it.
  for (const n of pending) await notify({ notificationId: n.id }, run(2), deps).catch(() => {});
  const { rows: after } = await q.db.query<{ target: string; status: string }>(
    `SELECT target, status FROM notifications WHERE alarm_id = $1 AND target <> 'board' ORDER BY target`,
    [alarmId],
  );
  expect(after).toEqual(TARGETS.map((target) => ({ target, status: 'sent' })));
  // Each phone texted once, each address e-mailed once, each chat posted to once.
  expect(texts.sort()).toEqual(['+447700900001', '+447700900002']);
  expect(smtp.received.sort()).toEqual(['deputy@school.example', 'head@school.example']);
  expect(chats.posts.get('/teams')).toHaveLength(1);
  expect(chats.posts.get('/chat')).toHaveLength(1);
}, 40_000);
