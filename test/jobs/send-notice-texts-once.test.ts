import type { Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { JobDeps } from '../../jobs/deps.ts';
import { sendNotice } from '../../jobs/send-notice.ts';
import type { DoorstepConfig } from '../../src/config/schema.ts';
import { retryClassOf } from '../../src/errors.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { JobRun } from '../../src/queue/worker-host.ts';
import type { Db } from '../../src/store/db.ts';
import { insertNotices } from '../../src/store/notices.ts';
import { configWith } from '../helpers/config.ts';
import { startFakeTwilio } from '../helpers/fake-twilio.ts';
import { storeAndQueue } from '../helpers/store-queue.ts';

/**
 * A notice's text went out, then its receipt could not be kept (the database away as the provider
 * answered, or the process ended there). Each phone is kept as being placed before its text is asked
 * for, as an alarm text's is: a retry never texts it again — it says the text may have been sent, and
 * once its try is known to have stopped (a minute on) the notice fails for good, on the board.
 */
const TOKEN = 'sms-auth-token-notice-texts-once';
const q = storeAndQueue('notice_texts_once');
let twilio: Server;
const texts: string[] = [];
let config: DoorstepConfig;
const run = (attempt: number): JobRun => ({
  id: `nto-${attempt}`,
  name: 'send-notice',
  attempt,
  maxAttempts: 6,
  signal: new AbortController().signal,
});
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

beforeAll(async () => {
  let url: string;
  ({ server: twilio, url } = await startFakeTwilio({
    token: TOKEN,
    handle: ({ to }, answer) => {
      texts.push(to);
      answer(201, { sid: `SM${String(texts.length).padStart(32, '0')}` });
    },
  }));
  config = configWith({
    env: { SMS_TOKEN: TOKEN },
    school: `    contacts:
      safeguarding: [{ name: DSL, phone: "+447700900001" }, { name: Deputy, phone: "+447700900002" }]
    channels:
      sms: { baseUrl: "${url}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
`,
  });
});
afterAll(() => {
  twilio.closeAllConnections();
  twilio.close();
});

it('a notice text whose receipt was not kept is never sent again by its retry', async () => {
  // The first text's receipt is lost (the provider answered; the write did not happen).
  let lost = false;
  const flaky = new Proxy(q.db, {
    get(target, prop, receiver) {
      if (prop === 'query')
        return async (sql: string, params?: unknown[]) => {
          if (!lost && /receipts = receipts \|\| jsonb_build_object\(\$2::text, \$3::text\)/.test(sql)) {
            lost = true;
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
    log: createLogger({ level: 'silent' }),
    producer: q.producer,
    now: () => new Date(),
    instance: 't',
    config,
    publisher: q.conn,
  };
  const [noticeId] = await insertNotices(q.db, {
    schoolId: 'alpha',
    kind: 'incident',
    visitId: null,
    targets: ['sms:safeguarding'],
    subject: 'Incident',
    text: 'An incident was recorded.',
    key: 'texts-once',
  });
  const first = await failure(sendNotice({ noticeId: noticeId! }, run(1), deps));
  expect(first?.message).toBe('Connection terminated unexpectedly');
  expect(texts.sort()).toEqual(['+447700900001', '+447700900002']);

  // Its retries, while the first try may still be under way: nothing sent, the words say why.
  const later = await failure(sendNotice({ noticeId: noticeId! }, run(2), deps));
  expect(retryClassOf(later)).toBe('transient');
  expect(later?.message).toBe(
    'sms: an earlier try asked the provider for it and its answer is not known; it may have been sent, so it is not sent again',
  );
  expect(texts).toHaveLength(2);

  // A minute on, the try that left it stopped without a word: may have been sent, failed for good.
  await q.db.query(
    `UPDATE notices SET receipts = (SELECT jsonb_object_agg(key, CASE WHEN jsonb_typeof(value) = 'object'
       THEN jsonb_build_object('placing', now() - interval '61 seconds') ELSE value END) FROM jsonb_each(receipts))
     WHERE id = $1`,
    [noticeId],
  );
  const left = await failure(sendNotice({ noticeId: noticeId! }, run(3), deps));
  expect(retryClassOf(left)).toBe('permanent');
  expect(left?.message).toBe(
    'sms: an earlier try had no answer; it may have been sent (no answer), so it is not sent again',
  );
  const { rows } = await q.db.query<{ status: string; last_error: string }>(
    'SELECT status, last_error FROM notices WHERE id = $1',
    [noticeId],
  );
  expect(rows).toEqual([{ status: 'failed', last_error: left?.message }]);
  // Each phone texted once.
  expect(texts.sort()).toEqual(['+447700900001', '+447700900002']);
});

it('a notice text known never to have been made is sent by its retry', async () => {
  // The provider refuses the first request for now (its own 429); the retry sends it.
  let busy = true;
  const { server, url } = await startFakeTwilio({
    token: TOKEN,
    handle: ({ to }, answer) => {
      if (busy) {
        busy = false;
        answer(429, { code: 20429, status: 429, message: 'Too Many Requests' });
        return;
      }
      texts.push(`again ${to}`);
      answer(201, { sid: `SM${String(texts.length).padStart(32, '0')}` });
    },
  });
  try {
    const busyConfig = configWith({
      env: { SMS_TOKEN: TOKEN },
      school: `    contacts:
      safeguarding: [{ name: DSL, phone: "+447700900001" }]
    channels:
      sms: { baseUrl: "${url}", accountSid: AC1, authToken: "\${SMS_TOKEN}", from: "+447700900999" }
`,
    });
    const deps = {
      db: q.db,
      log: createLogger({ level: 'silent' }),
      producer: q.producer,
      now: () => new Date(),
      instance: 't',
      config: busyConfig,
      publisher: q.conn,
    } satisfies JobDeps;
    const [noticeId] = await insertNotices(q.db, {
      schoolId: 'alpha',
      kind: 'incident',
      visitId: null,
      targets: ['sms:safeguarding'],
      subject: 'Incident',
      text: 'Another incident.',
      key: 'texts-refused-for-now',
    });
    const first = await failure(sendNotice({ noticeId: noticeId! }, run(1), deps));
    expect(retryClassOf(first)).toBe('transient');
    expect((await sendNotice({ noticeId: noticeId! }, run(2), deps)).status).toBe('sent');
    expect(texts.filter((t) => t.startsWith('again '))).toEqual(['again +447700900001']);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
